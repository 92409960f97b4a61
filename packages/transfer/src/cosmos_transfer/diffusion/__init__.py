"""EDM diffusion for Cosmos-Transfer1: preconditioning, training sigmas, the Kendall-weighted loss,
video-conditioning frames, condition dropout and the RES multistep sampler with guidance."""
