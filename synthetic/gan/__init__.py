"""Our tabular GAN (pure torch, no Django): ``transform`` (columns ↔ matrix), ``model``
(generator and critic), ``train`` (WGAN-GP with model selection), ``sample``, ``checkpoint``."""
