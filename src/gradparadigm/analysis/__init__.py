"""The paper's analysis instruments: simulations of the gradient components over angle grids."""
