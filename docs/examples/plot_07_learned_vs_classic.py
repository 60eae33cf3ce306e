"""
Learned kernels beside classic ones
===================================

The first layer of the shipped digits model learned six 5x5 kernels.
:func:`convfx.compare.compare_model` finds the closest classic kernel of each
(over rotations, flips and sign), scores the model, and measures random kernels
as a baseline.  The figure is the one ``convfx compare`` draws.
"""

from convfx.compare import compare_model
from convfx.plots import compare_figure

result = compare_model("digits", draws=200)  # the shipped model; 200 random draws keep it quick
for match in result.matches:
    print(f"kernel {match.index}: {match.name:24s} similarity {match.similarity:.2f}")
print(f"score {result.score:.3f}, random kernels {result.baseline.mean:.3f} +- {result.baseline.sd:.3f}")

# %%
figure = compare_figure(result)
