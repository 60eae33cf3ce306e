"""Every resource limit of convfx, in one place: the bounds that hostile or mistaken input meets.

A few kilobytes of input can ask for gigabytes: a compressed array whose header
claims a huge shape, a kernel file of a million tables, a model of a hundred
thousand kernels, a manifest that is a device.  Each reader checks what it is
given against one of these constants *before* it allocates or parses what the
input claims, and refuses with one line naming the file and the limit.  The
README's "Limits" table lists them with their values (``tests/test_limits.py``
keeps the two in step).

Sizes in bytes are powers of two where the README writes them in MiB/GiB;
counts of values are what an array holds whatever its dtype, and the byte
limits catch wide items (a 2 kB record counts as one value).

This module must not import anything: it is the bottom layer, beside
:mod:`convfx.checks`, so that every module can name its limit.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_IMAGE_EXTRA_BYTES",
    "MAX_ARRAY_VALUES",
    "MAX_ARRAY_FILE_BYTES",
    "MAX_NPY_HEADER_BYTES",
    "MAX_SAFETENSORS_HEADER_BYTES",
    "MAX_KERNEL_SIDE",
    "MAX_KERNEL_FILE_BYTES",
    "MAX_BANK_ENTRIES",
    "MAX_NESTING_DEPTH",
    "MAX_MANIFEST_BYTES",
    "MAX_IDX_VALUES",
    "MAX_CIFAR_BATCH_BYTES",
    "MAX_LEARNED_MAPS",
    "MAX_FEATURE_MAP_VALUES",
    "MAX_COMPARED_KERNELS",
    "MAX_EFFECT_SPEC_CHARS",
    "MAX_PADDED_VALUES",
    "MAX_BYTE_SIZE_CHARS",
]

_MiB = 2**20

# --------------------------------------------------------------------------- images

#: Images with more pixels than this are refused from their header, before any pixel
#: is decoded (a decompression-bomb guard; ``max_pixels=`` / ``--max-pixels`` raise
#: it).  64 megapixels covers every current camera up to 8000 x 8000; one float32 RGB
#: copy of such an image is already 768 MB.
DEFAULT_MAX_PIXELS = 64_000_000

#: The decoders that read a whole image file into memory (JPEG through OpenCV, 16-bit
#: colour PNG and TIFF) accept a file of at most twice its pixels' bytes plus this
#: much: room for metadata and a camera's second picture (MPO), not for a file padded
#: with gigabytes.  A larger JPEG is decoded by Pillow, which streams; a larger
#: 16-bit colour file is refused.
MAX_IMAGE_EXTRA_BYTES = 64 * _MiB

# --------------------------------------------------------------------------- numpy files

#: Values in one array of a ``.npy`` / ``.npz`` model or weights file, read from the
#: member's header before it is decompressed (2**26: 256 MB of float32).
MAX_ARRAY_VALUES = 2**26

#: Bytes of every array of one ``.npy`` / ``.npz`` model or weights file together, as
#: decoded, from their headers before any is decompressed (1 GiB).
MAX_ARRAY_FILE_BYTES = 1024 * _MiB

#: Length of a ``.npy`` header (numpy's own ``max_header_size``); the format allows
#: 4 GiB, a real header is about 128 bytes.
MAX_NPY_HEADER_BYTES = 10_000

#: Length of a ``.safetensors`` header, the JSON table of its tensors (a large
#: model's shard lists a few hundred in about 50 kB); only the tensors needed are read.
MAX_SAFETENSORS_HEADER_BYTES = 16 * _MiB

# --------------------------------------------------------------------------- kernels and banks

#: Largest kernel side accepted from a file, a string or a factory.  255 x 255 taps is
#: already far beyond any photographic filter (a Gaussian of sigma 42); larger
#: "kernels" are almost always a wrong file (an image saved as .npy) and would take
#: minutes per photo.
MAX_KERNEL_SIDE = 255

#: Largest kernel file (TOML, JSON, NPY, NPZ) on disk, and the most its arrays may
#: decode to: a 255 x 255 float64 kernel is 0.5 MiB.
MAX_KERNEL_FILE_BYTES = 16 * _MiB

#: Filters in one bank file (tables of a TOML/JSON file, arrays of an ``.npz``),
#: counted before any is built.  The largest shipped bank holds 28.
MAX_BANK_ENTRIES = 256

#: Nesting of the JSON and TOML convfx reads (kernel files, run manifests): a bank
#: entry's matrix is 3 deep, a manifest 3.
MAX_NESTING_DEPTH = 32

# --------------------------------------------------------------------------- batch runs

#: Largest run manifest (``convfx-manifest.json``) read to resume a batch: about
#: 250,000 files' entries.
MAX_MANIFEST_BYTES = 64 * _MiB

# --------------------------------------------------------------------------- networks and data

#: Values in one IDX data-set file (MNIST's training images hold 47 million), read
#: from its header before the (possibly gzipped) data.
MAX_IDX_VALUES = 2**26

#: Bytes of one CIFAR-10 binary batch file, checked before it is read (an official
#: batch holds 10,000 records: 30,730,000 bytes).
MAX_CIFAR_BATCH_BYTES = 64 * _MiB

#: First-layer kernels of a model used as a ``learned:`` effect (a montage of more
#: maps than this is unreadable anyway).
MAX_LEARNED_MAPS = 256

#: Height x width x maps of a ``learned:`` effect's feature maps, checked before the
#: correlation (2**28: 1 GiB of float32, as much again for the montage).
MAX_FEATURE_MAP_VALUES = 2**28

#: Kernels of one conv weight that ``convfx compare`` matches: its random baselines
#: draw, score and classify a thousand banks of that size (about 30 s for 1,024 5x5
#: kernels, in bounded memory).  A ResNet's conv1 has 64, a ViT-B/16's patch embedding 768.
MAX_COMPARED_KERNELS = 1024

# --------------------------------------------------------------------------- the engine and effect strings

#: Characters of an effect string (``"gaussian_blur:sigma=2,sobel"``), checked before
#: it is parsed.
MAX_EFFECT_SPEC_CHARS = 4096

#: Values of a padded image and its output together, or of a dilated kernel's extent,
#: that the convolution engine allocates for one call (2**31: 8 GiB of float32),
#: checked from the sizes before allocating.
MAX_PADDED_VALUES = 2**31

#: Characters of a memory size written as text (``--memory-budget 512MB``), checked
#: before it is parsed.
MAX_BYTE_SIZE_CHARS = 64
