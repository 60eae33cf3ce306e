"""
One digit through every layer of LeNet-5
========================================

A held-out digit through the shipped digits model: every layer's output in order,
labelled ``D@WxH`` as in the 1998 paper, and the softmax at the end.  This is what
``convfx tour --image digit:1`` draws.
"""

from convfx.nn import inspect as network
from convfx.plots import tour_figure

model = network.load_model("digits")  # the shipped model
image = network.load_tour_image("digit:1", channels=1)  # (1, 32, 32) float32 in [0, 1]
walk = network.tour(model, image, source="digit:1")
for layer in network.summarize(model):
    print(f"{layer.name:8s} {layer.kind:10s} {network.shape_text(layer.output_shape):>9s} {layer.parameters:>7,d} parameters")

# %%
figure = tour_figure(walk)
