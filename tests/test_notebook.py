"""The quickstart notebook runs top to bottom (it asserts on its own results)."""

import pytest

from tests.conftest import ROOT

nbformat = pytest.importorskip('nbformat', reason='the test extra (nbformat, nbclient) is not installed')
nbclient = pytest.importorskip('nbclient', reason='the test extra (nbformat, nbclient) is not installed')


@pytest.mark.slow
def test_quickstart_notebook_executes():
    nb = nbformat.read(ROOT / 'notebooks' / 'quickstart.ipynb', as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name='python3',
                            resources={'metadata': {'path': str(ROOT / 'notebooks')}}).execute()
    outputs = ''.join(o.get('text', '') for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', []))
    assert 'hq_fraction' in outputs
