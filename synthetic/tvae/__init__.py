"""A TVAE-style variational autoencoder for tables (Xu et al. 2019), beside the GAN. Pure torch."""
