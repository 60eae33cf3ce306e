"""
A photo through five filters
============================

Each named filter has its own default output range; here is ``chelsea`` through
``sobel``, ``laplacian``, ``gaussian_blur``, ``sharpen`` and ``emboss``.
"""

import matplotlib.pyplot as plt
import skimage.data

import convfx
from convfx.ranges import map_range

photo = skimage.data.chelsea()  # (300, 451, 3) uint8, bundled with scikit-image
names = ["sobel", "laplacian", "gaussian_blur", "sharpen", "emboss"]

fig, axes = plt.subplots(2, 3, figsize=(9, 4.4), layout="constrained")
axes[0, 0].imshow(photo)
axes[0, 0].set_title("chelsea")
for ax, name in zip(axes.flat[1:], names):
    response = convfx.apply(photo, name)  # float32, unclipped
    ax.imshow(map_range(response, convfx.get_filter(name).output_range))
    ax.set_title(f"{name} ({convfx.get_filter(name).output_range})")
for ax in axes.flat:
    ax.set_axis_off()
plt.show()
