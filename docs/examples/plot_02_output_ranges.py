"""
Output ranges: from a float response to pixels
==============================================

A filter's response is a float image that can be negative or above 255.  The
output range says, explicitly, how it becomes pixels; nothing ever wraps around.
Here is the Laplacian of ``camera`` through each range.
"""

import matplotlib.pyplot as plt
import numpy as np
import skimage.data

import convfx

photo = skimage.data.camera()  # (512, 512) uint8
response = convfx.apply(photo, "laplacian")  # float32, signed
print(f"response: {response.dtype}, from {response.min():.0f} to {response.max():.0f}")

# %%
# ``abs`` shows both edge directions bright, ``clip`` keeps only the positive side,
# ``signed`` puts 0 at mid-grey, and ``normalize`` stretches the weak response to
# the full range.

ranges = ["abs", "clip", "signed", "normalize"]
fig, axes = plt.subplots(1, 4, figsize=(12, 3.4), layout="constrained")
for ax, name in zip(axes, ranges):
    pixels = convfx.map_range(response, name)  # uint8
    ax.imshow(pixels[150:350, 150:350], cmap="gray", vmin=0, vmax=255)
    ax.set_title(f"{name}: mean {np.mean(pixels):.0f}")
    ax.set_axis_off()
plt.show()
