"""
Canny, stage by stage
=====================

:func:`convfx.canny_stages` returns every intermediate result of one Canny run:
the smoothed luminance, the two Sobel derivatives, the gradient magnitude, the thin
ridges left by non-maximum suppression, and the edges kept by hysteresis.
"""

import matplotlib.pyplot as plt
import skimage.data

import convfx

photo = skimage.data.chelsea()  # (300, 451, 3) uint8
stages = convfx.canny_stages(photo, sigma=2)

panels = [
    ("smoothed", stages.smoothed, "gray"),
    ("gx (sobel_x)", stages.gx, "coolwarm"),
    ("gy (sobel_y)", stages.gy, "coolwarm"),
    ("magnitude", stages.magnitude, "magma"),
    ("non-maximum suppression", stages.suppressed, "magma"),
    ("edges (hysteresis)", stages.edges, "gray"),
]
fig, axes = plt.subplots(2, 3, figsize=(11, 5.4), layout="constrained")
for ax, (title, image, cmap) in zip(axes.flat, panels):
    ax.imshow(image, cmap=cmap)
    ax.set_title(title)
    ax.set_axis_off()
plt.show()

# %%
# The thresholds are fractions of full scale, so they mean the same on every
# bit depth; ``quantile=True`` reads them as quantiles of the magnitude instead.
print(f"low {stages.low:.3g}, high {stages.high:.3g}; {stages.edges.mean():.1%} of the pixels are edges")
