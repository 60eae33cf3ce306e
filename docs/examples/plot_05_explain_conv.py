"""
The sliding window, step by step
================================

A 3x3 kernel sliding with stride 2 over a 7x7 input padded by 1: every window, the
products, their sum, and the output filling up.  Every number is computed by
:func:`convfx.correlate` and checked against the drawn arithmetic.  ``convfx
explain conv`` draws the same figure or an animation.
"""

import convfx
from convfx.explain import explain_conv
from convfx.plots import explain_strip_figure

explanation = explain_conv(size=7, kernel=3, stride=2, padding=1)
print("output size:", convfx.output_size(7, 3, stride=2, padding=1))  # floor((7 + 2 - 3) / 2) + 1 = 4

# %%
figure = explain_strip_figure(explanation)
