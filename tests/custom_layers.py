"""A Keras layer type skae does not build itself, for the custom-network tests.

It lives in its own module so that a fresh Python process (the pickling test)
can import it, as a user's own layers would be.
"""

import skae  # noqa: F401  (selects Keras's torch backend first)

# isort: split
import keras


@keras.saving.register_keras_serializable(package="skae_tests")
class Scale(keras.layers.Layer):
    """Multiplies its input by one trainable scalar per feature."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.scale


def encoder(n_features, n_components=4):
    x = keras.Input((n_features,))
    h = keras.layers.Dense(16, activation="tanh")(x)
    h = Scale(name="scale")(keras.layers.LayerNormalization()(h))
    return keras.Model(x, keras.layers.Dense(n_components)(h), name="my_encoder")


def decoder(n_features, n_components=4):
    z = keras.Input((n_components,))
    h = keras.layers.Dense(16, activation="tanh")(z)
    return keras.Model(z, keras.layers.Dense(n_features)(h), name="my_decoder")
