"""
Your own data set, feedback weights and learning-rate schedule
==============================================================

Three ways of taking the model somewhere the paper did not go, each in a few lines:

* **your own data**: any ``.npz`` file with ``x_train, y_train, x_test, y_test`` (pixels 0–255
  or floats in [0, 1], labels 0–9) is a data set; here, MNIST digits shifted at random by up to
  two pixels;
* **your own feedback weights**: the feedback matrix Y that carries the output's spikes to the
  apical dendrites (V^a = Y s¹, PAPER.md §1.4; random and fixed in the standard model, varied
  in Fig 8) is an ordinary array in ``params_``; here Y is set to the transpose of the initial
  output weights W¹ and then kept fixed, a variant between the paper's random feedback and the
  symmetric feedback of Fig 8C, where Y follows W¹ as it learns;
* **your own learning-rate schedule**: train in stages, each a new configuration that continues
  from the previous stage's weights.

The networks run in rate mode (``mode="rate"``, the authors' non-spiking mode, PAPER.md §8),
which trains about ten times faster than the spiking model.
"""

# sphinx_gallery_thumbnail_number = 2

import copy
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import segdend

# %%
# A data set of shifted digits
# ----------------------------
# Each image is rolled by a random offset of −2 to +2 pixels in each direction. The arrays go
# into an npz file in a temporary directory, and :func:`segdend.load_dataset` reads it like a
# named data set (it checks shapes, pixel range and labels).

mnist = segdend.load_dataset("mnist")
rng = np.random.default_rng(0)


def shifted(images):
    """28×28 images, each rolled by a random offset of up to 2 pixels along each axis."""
    out = images.reshape(-1, 28, 28).copy()
    for i, (dy, dx) in enumerate(rng.integers(-2, 3, size=(len(out), 2))):
        out[i] = np.roll(out[i], (dy, dx), axis=(0, 1))
    return out


n_train, n_test = 5000, 500
scratch = tempfile.TemporaryDirectory()
path = Path(scratch.name) / "shifted-mnist.npz"
np.savez(path, x_train=shifted(mnist.train_images[:n_train]), y_train=mnist.train_labels[:n_train],
         x_test=shifted(mnist.test_images[:n_test]), y_test=mnist.test_labels[:n_test])
data = segdend.load_dataset(path)
print(f"data set '{data.name}': {len(data.train_labels)} training, "
      f"{len(data.test_labels)} test images")

fig, axes = plt.subplots(1, 8, figsize=(8, 1.4))
for ax, image in zip(axes, data.train_images, strict=False):
    ax.imshow(image.reshape(28, 28), cmap="gray_r")
    ax.set_axis_off()
fig.suptitle("Shifted MNIST (own npz data set)")
fig.tight_layout()

# %%
# Your own feedback matrix
# ------------------------
# :meth:`~segdend.Network.initialise` draws the initial weights; ``params_.feedback[k]`` is Y of
# hidden layer k, shape (hidden neurons, output units). After replacing it,
# ``fit(..., warm_start=True)`` trains from these parameters instead of drawing new ones. The
# baseline network keeps the paper's random Y.

settings = dict(hidden=[500], seed=1, mode="rate", test__examples=n_test,
                train__quick_test_every=0)
epochs = 3

baseline = segdend.Network(**settings).fit(data, epochs=epochs, examples=n_train,
                                                 progress=False)

own = segdend.Network(**settings).initialise()
random_y = own.params_.feedback[0]
own.params_.feedback[0] = own.params_.weights[1].T.copy()  # Y = (W¹)ᵀ at birth, then fixed
own.fit(data, epochs=epochs, examples=n_train, warm_start=True, progress=False)
print(f"Y of hidden layer 1: shape {random_y.shape}; random Y has sd {random_y.std():.2f}, "
      f"(W¹)ᵀ at birth has sd {own.params_.feedback[0].std():.2f}")

# %%
# A learning-rate schedule
# ------------------------
# A :class:`~segdend.Network` trains with the learning rates of its configuration
# (``train.learning_rates``, one per layer; the paper's η = 0.21 for both layers of this network,
# §2.7). For a schedule, change the rates with :meth:`~segdend.Network.set_params` and continue
# with ``warm_start=True``, which keeps the learned parameters. Both branches below start from a
# copy of the network trained above: one keeps η, the other divides it by four.

rates = own.config.learning_rates()
stages = {"constant η": rates, "η / 4 after epoch 3": [r / 4 for r in rates]}
curves = {"random Y (paper)": baseline.history_, "Y = W¹ᵀ at birth": own.history_}
for name, stage_rates in stages.items():
    stage = copy.deepcopy(own).set_params({"train.learning_rates": stage_rates})
    stage.fit(data, epochs=2, examples=n_train, warm_start=True, progress=False)
    later = stage.history_.iloc[1:].assign(epoch=lambda h: h.epoch + epochs)
    curves[f"Y = W¹ᵀ, then {name}"] = pd.concat([own.history_, later], ignore_index=True)

for name, history in curves.items():
    print(f"{name:34s} test error after epoch {history.epoch.iloc[-1]}: "
          f"{history.test_error.iloc[-1]:.1f} %")

# %%
# The result
# ----------
# Test error on the 500 shifted test digits after each epoch of 5,000 examples.

fig, ax = plt.subplots(figsize=(6, 4))
styles = ["o-", "s-", "^--", "v--"]
for (name, history), style in zip(curves.items(), styles, strict=True):
    ax.plot(history.epoch, history.test_error, style, label=name)
ax.axvline(epochs, color="0.6", lw=0.8, ls=":")
ax.set_xlabel("epoch")
ax.set_ylabel("test error (%)")
ax.set_ylim(0, None)
ax.set_title("Shifted MNIST, 784-500-10, rate mode")
ax.legend(frameon=False)
fig.tight_layout()

scratch.cleanup()
plt.show()
