"""
Your own kernel, convolved or correlated
========================================

A kernel of your own is a NumPy array, a TOML entry or an ImageMagick string.
Convolution rotates the kernel by 180 degrees before sliding it; correlation, what
deep-learning layers compute, does not.  For an asymmetric kernel the two differ:
here an emboss-like kernel lights opposite sides of the edges.
"""

import matplotlib.pyplot as plt
import numpy as np
import skimage.data

import convfx

photo = skimage.data.coins().astype(np.float32)  # (303, 384)
kernel = np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])

correlated = convfx.correlate(photo, kernel, boundary="reflect")
convolved = convfx.convolve(photo, kernel, boundary="reflect")
# The definition: convolution is correlation with the kernel rotated 180 degrees.
assert np.allclose(convolved, convfx.correlate(photo, kernel[::-1, ::-1], boundary="reflect"))

# %%
# The same numbers as an ImageMagick kernel string are a convolution kernel, as in
# ImageMagick's ``-morphology Convolve``:

magick = convfx.apply(photo, "3x3: -2,-1,0 -1,1,1 0,1,2")
print("ImageMagick string == convolve:", np.allclose(magick, convolved, atol=1e-3))

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), layout="constrained")
axes[0].imshow(kernel, cmap="coolwarm", vmin=-2, vmax=2)
for (row, column), value in np.ndenumerate(kernel):
    axes[0].text(column, row, f"{value:g}", ha="center", va="center")
axes[0].set_title("the kernel as written")
for ax, image, title in [(axes[1], correlated, "correlate"), (axes[2], convolved, "convolve")]:
    ax.imshow(convfx.map_range(image, "clip"), cmap="gray")
    ax.set_title(title)
for ax in axes:
    ax.set_axis_off()
plt.show()
