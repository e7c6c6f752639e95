"""The after-training command lines (``ganjax.sample``, ``ganjax.fid --workdir``) end to end, and every CLI's
answer to bad input or a failing disk: one ``error: ...`` line on stderr, exit status 2, nothing lost."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT

RING = ['--config=experiments/toy_ring.py', '--config.train.batch_size=32', '--config.model.width=16',
        '--config.eval.num_samples=64', '--config.checkpoint.every_steps=10', '--config.train.log_every=100',
        '--config.train.lr_schedule=constant']  # constant: a longer resumed run changes nothing computed


def run_module(module: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    return subprocess.run([sys.executable, '-m', module, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def assert_one_error_line(r: subprocess.CompletedProcess, *needles: str) -> str:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), r.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs (needs root on Linux): a disk that really fills, with the real kernel's ENOSPC."""
    mount = tmp_path / 'disk'
    mount.mkdir()
    if sys.platform != 'linux' or os.geteuid() != 0:
        pytest.skip('a real full disk needs root on Linux (mount -t tmpfs)')
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', str(mount)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs here: {r.stderr.decode().strip()}')
    try:
        yield mount
    finally:
        subprocess.run(['umount', '-l', str(mount)], check=False)


def fill(directory: Path, leave: int = 0) -> Path:
    """Write one file until the file system is full, then give ``leave`` bytes back; returns the file
    (delete it to free the space)."""
    directory.mkdir(exist_ok=True)
    filler = directory / 'filler'
    chunk = os.urandom(1 << 16)
    with filler.open('wb', buffering=0) as f:  # unbuffered: closing it must not write (and fail) again
        try:
            while True:
                f.write(chunk)
        except OSError as e:
            assert e.errno == errno.ENOSPC
    os.truncate(filler, filler.stat().st_size - leave)
    return filler


def test_io_failure_reads_orbax_and_os_errors():
    from ganjax.checkpoint import io_failure

    # the two shapes TensorStore gave on a full tmpfs (abridged), depending on which file hit the limit
    for text in ('RESOURCE_EXHAUSTED: Error writing "a/0" in OCDBT database at local file "/d/": Failed to '
                 "write 489787 bytes to file 14: No space left on device [os_error_code='28']",
                 'RESOURCE_EXHAUSTED: Error opening "zarr" driver: Failed to write 205 bytes to file 14: No space '
                 "left on device [tensorstore_spec='{\"create\":true}'] [os_error_code='28']"):
        assert io_failure(ValueError(text)) == 'No space left on device (errno 28)'
    assert io_failure(OSError(errno.EROFS, os.strerror(errno.EROFS))) == 'Read-only file system (errno 30)'
    assert io_failure(ValueError('PERMISSION_DENIED: /x')) == 'ValueError: PERMISSION_DENIED: /x'
    assert io_failure(TypeError('unhashable type')) is None  # a bug keeps its traceback
    assert io_failure(ValueError('shapes do not match')) is None


@pytest.mark.slow
def test_full_disk_during_a_checkpoint_is_one_line_and_keeps_older_checkpoints(small_disk):
    from ganjax.checkpoint import load_generator

    workdir = small_disk / 'run'
    first = run_module('ganjax.main', *RING, f'--workdir={workdir}', '--config.train.num_steps=20')
    assert first.returncode == 0, first.stderr
    saved = sorted(os.listdir(workdir / 'checkpoints'))
    assert saved == ['10', '20']
    # room for the logs' few kB (TensorBoard events, metrics.jsonl), not for a checkpoint (~60 kB)
    filler = fill(small_disk, leave=24 << 10)

    r = run_module('ganjax.main', *RING, f'--workdir={workdir}', '--config.train.num_steps=40')
    line = assert_one_error_line(r, 'checkpoint step 30', 'No space left on device',
                                 'newest complete checkpoint is step 20', 'no older checkpoint was touched')
    assert 'Traceback' not in r.stderr, line
    assert sorted(os.listdir(workdir / 'checkpoints')) == saved  # the partial step 30 was cleaned away
    load_generator(workdir, step=20)  # and step 20 still reads back whole
    # the other writers on the full disk: the TensorBoard/metrics logs of a run, and the samples command
    fill(small_disk / 'more')
    r = run_module('ganjax.main', *RING, f'--workdir={small_disk / "other"}', '--config.train.num_steps=20',
                   '--config.checkpoint.every_steps=0', '--config.train.log_every=10')
    assert_one_error_line(r, 'No space left on device')
    r = run_module('ganjax.sample', f'--workdir={workdir}', '--num=4')
    assert_one_error_line(r, 'No space left on device')

    filler.unlink()  # space again: the same command resumes from step 20 and finishes
    (small_disk / 'more' / 'filler').unlink()
    again = run_module('ganjax.main', *RING, f'--workdir={workdir}', '--config.train.num_steps=40')
    assert again.returncode == 0, again.stderr
    assert 'resuming from checkpoint step 20' in again.stdout
    assert json.loads((workdir / 'summary.json').read_text())['step'] == 40


def test_unusable_workdir_is_one_line(tmp_path):
    (tmp_path / 'file').write_text('in the way')
    for workdir, needle in (('/proc/ganjax-run', 'cannot create --workdir /proc/ganjax-run'),
                            (str(tmp_path / 'file' / 'run'), 'cannot create --workdir')):
        r = run_module('ganjax.main', *RING, f'--workdir={workdir}', '--config.train.num_steps=2')
        assert_one_error_line(r, needle)


# ------------------------------------------------------------------------------ sample and fid on real runs

MNIST = ROOT.parent / 'shared' / 'data' / 'mnist'
MNIST_TINY = ['--config=experiments/dcgan_mnist.py', '--config.data.path=../shared/data/mnist',
              '--config.train.num_steps=4', '--config.train.batch_size=16', '--config.model.width=8',
              '--config.data.max_examples=256', '--config.train.log_every=2']


def call(main, argv: list[str], capsys) -> tuple[int, str, str]:
    """A CLI's ``main`` in this process (no JAX start-up per case): exit status, stdout, stderr."""
    try:
        code = main(argv)
    except SystemExit as e:  # argparse usage errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(code: int, err: str, needle: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: ') and needle in lines[0], err


@pytest.fixture(scope='module')
def mnist_run(tmp_path_factory):
    """What the README's DCGAN-MNIST command writes, with a few steps."""
    if not MNIST.is_dir():
        pytest.skip(f'needs the MNIST files in {MNIST}')
    workdir = tmp_path_factory.mktemp('mnist') / 'run'
    r = run_module('ganjax.main', *MNIST_TINY, f'--workdir={workdir}')
    assert r.returncode == 0, r.stderr
    return workdir


@pytest.mark.slow
def test_sample_command_on_a_trained_mnist_run(mnist_run, tmp_path, capsys):
    import jax
    from PIL import Image

    from ganjax import sample as S
    from ganjax import viz
    from ganjax.checkpoint import load_generator
    from ganjax.state import sample_latent

    code, out, err = call(S.main, ['--workdir', str(mnist_run), '--seeds=3,7', '--out', str(tmp_path / 's')], capsys)
    assert code == 0, err
    assert 'from step 4 (EMA generator)' in out
    saved = np.load(tmp_path / 's' / 'samples.npz')
    assert list(saved['seeds']) == [3, 7] and saved['samples'].shape == (2, 28, 28, 1)
    png = np.asarray(Image.open(tmp_path / 's' / 'seed7.png'))
    np.testing.assert_array_equal(png, saved['samples'][1, ..., 0])
    # seed 7 is the EMA generator's image of the latent drawn from PRNGKey(7), called directly
    G, params, cols, config = load_generator(mnist_run)
    z7 = sample_latent(jax.random.PRNGKey(7), (1, config.model.latent_dim), config.model.latent_dist)
    direct = viz.to_uint8(np.asarray(G.apply({'params': params, **cols}, z7, None, train=False)))
    assert np.abs(direct[0].astype(int) - saved['samples'][1].astype(int)).max() <= 1
    # the same command again writes the same files, byte for byte
    code, _, err = call(S.main, ['--workdir', str(mnist_run), '--seeds=3,7', '--out', str(tmp_path / 's2')], capsys)
    assert code == 0, err
    for name in ('seed3.png', 'seed7.png', 'grid.png'):
        assert (tmp_path / 's2' / name).read_bytes() == (tmp_path / 's' / name).read_bytes()
    # truncation scales the normal latent towards 0 (the README's --truncation=0.7)
    code, out, err = call(S.main, ['--workdir', str(mnist_run), '--seeds=3,7', '--truncation=0.7',
                                   '--out', str(tmp_path / 't')], capsys)
    assert code == 0, err
    np.testing.assert_allclose(np.load(tmp_path / 't' / 'samples.npz')['z'], 0.7 * saved['z'], rtol=1e-6)
    # the raw generator is another one (EMA 0.95 over 4 steps), and the default folder names it
    code, out, err = call(S.main, ['--workdir', str(mnist_run), '--seeds=7', '--raw'], capsys)
    assert code == 0, err
    raw = np.load(mnist_run / 'generated' / 'step4-raw' / 'samples.npz')['samples'][0]
    assert not np.array_equal(raw, saved['samples'][1])

    code, out, err = call(S.main, ['--workdir', str(mnist_run), '--seeds=3,7,9', '--interpolate', '--frames=4',
                                   '--out', str(tmp_path / 'i')], capsys)
    assert code == 0, err
    path = np.load(tmp_path / 'i' / 'interp_slerp.npz')
    assert path['samples'].shape == (2, 4, 28, 28, 1)
    np.testing.assert_allclose(path['z'][0, 0], saved['z'][0], atol=1e-6)  # starts at seed 3
    np.testing.assert_allclose(path['z'][0, -1], saved['z'][1], atol=1e-6)  # reaches seed 7
    np.testing.assert_array_equal(path['samples'][0, -1], saved['samples'][1])  # whose image it shows
    with Image.open(tmp_path / 'i' / 'interp_slerp.gif') as gif:
        # 7 distinct frames along both paths (they share seed 7's), then 5 back: a loop without a jump
        assert gif.n_frames == 12 and gif.info.get('loop') == 0


@pytest.mark.slow
def test_bad_sample_and_fid_input_is_one_line(mnist_run, tmp_path, capsys):
    from ganjax import fid as fid_cli
    from ganjax import sample as S

    (tmp_path / 'empty').mkdir()
    run = f'--workdir={mnist_run}'
    for argv, needle in [
        ([run, '--seeds=1-x'], "'1-x' is not a seed"),
        ([run, '--seeds=9-2'], 'first <= last'),
        ([run, '--seeds=1', '--num=3'], 'not both'),
        ([run, '--truncation=1.5'], 'truncation must be a number in [0, 1]'),
        ([run, '--truncation=abc'], 'invalid float value'),
        ([run, '--class=1'], 'not conditional'),
        ([run, '--step=999'], 'no checkpoint step 999'),
        ([run, '--interpolate', '--seeds=4'], 'at least two seeds'),
        ([run, '--interpolate', '--method=cubic', '--seeds=1,2'], 'cubic'),
        ([run, '--nope'], 'unrecognized arguments: --nope'),
        ([f'--workdir={tmp_path / "missing"}'], 'no such --workdir'),
        ([f'--workdir={tmp_path / "empty"}'], 'no checkpoints in'),
        ([run, f'--out=/proc/ganjax-out'], 'cannot write or read a file'),
    ]:
        assert_one_line(*call(S.main, argv, capsys)[::2], needle)
    for argv, needle in [
        ([run], '--workdir needs --reference'),
        ([run, '--reference=train', '--num-samples=1'], '--num-samples must be >= 2'),
        ([run, f'--reference={tmp_path / "missing.npz"}'], 'no such file or folder'),
        ([run, f'--reference={tmp_path / "empty"}'], 'no images found'),
        ([run, '--reference=train', '--step=999'], 'no checkpoint step 999'),
        ([f'--workdir={tmp_path / "empty"}', '--reference=train'], 'no checkpoints in'),
        ([run, '--reference=train', 'a.npz'], 'drop the inputs'),
        (['a.npz', 'b.npz', '--reference=train'], '--reference goes with --workdir'),
        ([], 'give one or two inputs'),
    ]:
        assert_one_line(*call(fid_cli.main, argv, capsys)[::2], needle)
    assert not (mnist_run / 'metrics_fid.jsonl').exists()  # nothing half-written


def _have_weights() -> bool:
    from ganjax.metrics import weights as W

    return W.cache_path().is_file() or bool(os.environ.get(W.ENV_WEIGHTS))


@pytest.mark.slow
@pytest.mark.skipif(not _have_weights(), reason='needs the cached FID Inception weights (see .ci/run)')
def test_fid_of_a_checkpoint_against_its_training_data(mnist_run, capsys):
    from ganjax import data, viz
    from ganjax import fid as fid_cli
    from ganjax import sample as S
    from ganjax.metrics import fid as F

    code, _, err = call(fid_cli.main, [f'--workdir={mnist_run}', '--reference=train', '--num-samples=300'],
                        capsys)
    assert_one_line(code, err, 'holds 256 images, fewer than --num-samples=300')
    code, out, err = call(fid_cli.main, [f'--workdir={mnist_run}', '--reference=train', '--num-samples=12',
                                         '--metrics=fid,kid', '--quiet', '--batch-size=12'], capsys)
    assert code == 0, err
    warnings = err.strip().splitlines()
    assert len(warnings) == 1 and warnings[0].startswith('warning: FID from 12 generated and 12 reference')
    record = json.loads((mnist_run / 'metrics_fid.jsonl').read_text().splitlines()[-1])
    assert record['step'] == 4 and record['num_samples'] == 12 and record['generator'] == 'ema'
    assert f"fid: {record['results']['fid']:.6f}" in out and 'kid' in record['results']

    # the same number from the parts: samples of seeds 0..11 against the first 12 training images
    sampler = S.load_sampler(mnist_run)
    fake = viz.to_uint8(sampler(sampler.latents(range(12))))
    real = viz.to_uint8(next(data.get_source(sampler.config.data, sampler.config.seed).iterate(12, start_step=0))['x'])
    ext = F.InceptionFeatures(batch_size=12)  # the CLI's compiled shape: no second compilation
    want = F.frechet_distance(*ext.stats([real]), *ext.stats([fake]))
    np.testing.assert_allclose(record['results']['fid'], want, rtol=1e-6)


@pytest.mark.slow
def test_sample_and_fid_on_the_2d_ring(tmp_path, capsys):
    from ganjax import fid as fid_cli
    from ganjax import sample as S
    from ganjax.checkpoint import load_generator

    workdir = tmp_path / 'ring'
    r = run_module('ganjax.main', *RING, f'--workdir={workdir}', '--config.train.num_steps=10')
    assert r.returncode == 0, r.stderr
    # the README's two commands on the ring
    code, _, err = call(S.main, [f'--workdir={workdir}', '--seeds=0-999'], capsys)
    assert code == 0, err
    out = workdir / 'generated' / 'step10-ema'
    saved = np.load(out / 'samples.npz')
    assert saved['samples'].shape == (1000, 2)
    G, params, cols, _ = load_generator(workdir)
    np.testing.assert_allclose(saved['samples'], G.apply({'params': params, **cols}, saved['z'], None, train=False),
                               atol=1e-6)
    assert (out / 'samples.png').read_bytes()[:4] == b'\x89PNG'
    code, _, err = call(S.main, [f'--workdir={workdir}', '--seeds=1,5,9', '--interpolate'], capsys)
    assert code == 0, err
    path = np.load(out / 'interp_slerp.npz')
    assert path['samples'].shape == (2, 16, 2) and (out / 'interp_slerp.png').is_file()
    np.testing.assert_allclose(path['z'][1, -1], saved['z'][9], atol=1e-6)  # the second path ends at seed 9
    code, _, err = call(S.main, [f'--workdir={workdir}', '--seeds=0,1', '--interpolate', '--method=lerp',
                                 '--frames=3'], capsys)
    assert code == 0, err
    path = np.load(out / 'interp_lerp.npz')
    np.testing.assert_allclose(path['z'][0, 1], (saved['z'][0] + saved['z'][1]) / 2, atol=1e-6)
    assert_one_line(*call(fid_cli.main, [f'--workdir={workdir}', '--reference=train'], capsys)[::2],
                    'not images')
