"""The LeNet-5 models shipped with convfx, and (``python -m convfx.models``) the
script that retrains them with the project's own ``convfx train``.

Only data lives here; loading goes through :meth:`convfx.nn.LeNet.load` and
:func:`convfx.compare.shipped_model`.
"""
