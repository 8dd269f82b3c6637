"""
A first network in five minutes
===============================

Build the standard 784-500-10 network of the paper (Fig 3A and Fig 6B), train it on a few
thousand MNIST digits, test it, and look at what it learned: the test error after every epoch
(the learning curve of Fig 6B, here on a tiny budget) and a few test digits with the network's
answers.

The network is the spiking model itself: Poisson spikes, segregated apical dendrites, and
local weight updates driven by the difference between the plateau potentials of the forward
and target phases (plateaus Eq. 5; updates Eqs. 28–29, 33 and 35). The paper's protocol
trains for 60 epochs of 60,000 examples; here three epochs of 5,000 examples take seconds.
"""

import matplotlib.pyplot as plt
import numpy as np

import segdend

# %%
# Data and network
# ----------------
# :func:`segdend.load_dataset` fetches MNIST once and caches it. The constructor only stores
# and validates the configuration (``preset="code"`` follows the authors' code, PAPER.md §8);
# every other setting is a config key, here given with ``__`` for the dot. We test on the first
# 500 test images and switch off the quick tests during training.

mnist = segdend.load_dataset("mnist")
net = segdend.Network(hidden=[500], preset="code", seed=1,
                      test__examples=500, train__quick_test_every=0)
print(net)

# %%
# Train
# -----
# :meth:`~segdend.Network.fit` trains online, one example at a time (a forward phase and a
# target phase each), and tests after every epoch. It returns the network, so a test can
# follow in the same line. :meth:`~segdend.Network.test_error` draws fresh spikes, so it
# differs a little from the test at the end of the last epoch: the spread of the paper's
# repeated weight tests.

error = net.fit(mnist, epochs=3, examples=5000, progress=False).test_error(mnist)
print(f"test error on 500 images after {net.history_.examples.iloc[-1]} examples: {error:.1f} %")

# %%
# The learning curve
# ------------------
# ``history_`` is a pandas DataFrame with one row per epoch; epoch 0 is the test before
# training (chance is 90 %).

print(net.history_[["epoch", "test_error", "train_error"]].to_string(index=False))

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(net.history_.epoch, net.history_.test_error, "o-", label="test (500 images)")
ax.plot(net.history_.epoch, net.history_.train_error, "s--", label="training (online)")
ax.set_xlabel("epoch (5,000 examples each)")
ax.set_ylabel("error (%)")
ax.set_xticks(net.history_.epoch)
ax.set_title("Learning curve, 784-500-10 (cf. Fig 6B)")
ax.legend(frameon=False)
fig.tight_layout()

# %%
# Predictions
# -----------
# :meth:`~segdend.Network.predict` runs one forward phase per image and answers the output unit
# with the highest mean somatic potential. Wrong answers are shown in red.

images, labels = mnist.test_images[:12], mnist.test_labels[:12]
predicted = net.predict(images)
print("predicted:", predicted, "\ntrue:     ", labels)

fig, axes = plt.subplots(2, 6, figsize=(7, 2.8))
for ax, image, label, guess in zip(axes.flat, images, labels, predicted, strict=True):
    ax.imshow(image.reshape(28, 28), cmap="gray_r")
    ax.set_title(f"{guess}", color="C3" if guess != label else "k")
    ax.set_axis_off()
fig.suptitle(f"Network's answers ({np.mean(predicted == labels):.0%} of these correct)")
fig.tight_layout()

plt.show()
