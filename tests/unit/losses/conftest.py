import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run the loss tests single-threaded (restored afterwards).

    Their tensors are tiny; on the project's shared 2-core machines, OpenMP threads contending with
    other jobs made tiny ops ~50x slower (a 6x6 ``triu`` took 11 ms instead of 1 us).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
