"""Checkpointing and failure safety: exact resume after SIGKILL or SIGTERM, NaNs, corruption, mismatches,
export.

The truth for every resume test is an uninterrupted run of the same command: a resumed run must end with
bit-identical samples and parameters, because the step's key is ``fold_in(rng, step)`` and the data is a
pure function of ``(seed, step)``.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from tests.conftest import ROOT, emulated_devices, tiny_config

from ganjax import checkpoint as ckpt_lib
from ganjax import failsafe, games
from ganjax.data.toy import ToySource
from ganjax.errors import CheckpointError, NonFiniteError
from ganjax.train import eval_inputs, train_and_evaluate

# The CLI run the subprocess tests repeat: long enough that kills land mid-run, small enough to be quick.
# Counted in steps, not seconds: a toy step takes under 1 ms on a fast CPU, so a 600-step run once ended
# inside the kill test's random wait. At ~1,500 steps/s this run trains for ~3 s after compiling.
NUM_STEPS, LOG_EVERY = 4000, 1000
CLI_RUN = ['--config=experiments/toy_ring.py', f'--config.train.num_steps={NUM_STEPS}',
           '--config.train.batch_size=32', f'--config.train.log_every={LOG_EVERY}',
           '--config.eval.num_samples=200', '--config.model.width=16',
           '--config.checkpoint.every_steps=200', '--config.checkpoint.keep=2']


def start_cli(workdir: Path) -> subprocess.Popen:
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    return subprocess.Popen([sys.executable, '-m', 'ganjax.main', *CLI_RUN, f'--workdir={workdir}'],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def saved_steps(workdir: Path) -> list[int]:
    d = workdir / 'checkpoints'
    return sorted(int(p.name) for p in d.iterdir() if p.name.isdigit()) if d.is_dir() else []


def wait_for_checkpoint_after(proc: subprocess.Popen, workdir: Path, step: int, timeout: float = 180) -> bool:
    """Wait until a checkpoint newer than ``step`` exists; False if the process ended first."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if any(s > step for s in saved_steps(workdir)):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    raise TimeoutError(f'no checkpoint after step {step} within {timeout}s')


def read_state(workdir: Path, step: int) -> dict:
    """The saved state's packed arrays at ``step`` (``{'sampler.float32': ..., ...}``), read by Orbax
    without a target."""
    with warnings.catch_warnings():  # Orbax warns that it takes the shardings from the file: intended here
        warnings.simplefilter('ignore', UserWarning)
        return ocp.PyTreeCheckpointer().restore(workdir.absolute() / 'checkpoints' / str(step) / 'state')


def flat(*trees) -> np.ndarray:
    """Every leaf raveled and concatenated in tree order: the packing, by hand."""
    return np.concatenate([np.ravel(x) for x in jax.tree.leaves(trees)])


def assert_trees_equal(a, b) -> None:
    la, ta = jax.tree_util.tree_flatten(a)
    lb, tb = jax.tree_util.tree_flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    """The uninterrupted CLI run every kill/SIGTERM run must reproduce exactly."""
    workdir = tmp_path_factory.mktemp('ref') / 'run'
    rc, out, err = finish(start_cli(workdir))
    assert rc == 0, err
    return workdir


def assert_same_as_reference(workdir: Path, reference: Path) -> None:
    np.testing.assert_array_equal(np.load(workdir / 'samples.npz')['samples'],
                                  np.load(reference / 'samples.npz')['samples'])
    assert saved_steps(workdir)[-1] == saved_steps(reference)[-1] == NUM_STEPS
    assert_trees_equal(read_state(workdir, NUM_STEPS), read_state(reference, NUM_STEPS))
    steps = [json.loads(l)['step'] for l in (workdir / 'metrics.jsonl').read_text().splitlines()]
    assert steps == list(range(LOG_EVERY, NUM_STEPS + 1, LOG_EVERY))  # no step logged twice after resumes


def test_sigkill_at_random_moments_then_resume_is_bit_identical(reference, tmp_path):
    seed = int(time.time())
    rng = random.Random(seed)
    workdir = tmp_path / 'run'
    kills, last = [], 0
    for _ in range(3):
        proc = start_cli(workdir)
        if not wait_for_checkpoint_after(proc, workdir, last):
            break
        time.sleep(rng.uniform(0.0, 0.2))  # a random moment: mid-step, mid-save or mid-log
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills.append(saved_steps(workdir)[-1])
        last = kills[-1]
    assert len(kills) >= 2, f'only {len(kills)} kill(s) landed before the run ended (seed {seed})'
    rc, out, err = finish(start_cli(workdir))
    assert rc == 0, err
    assert f'resuming from checkpoint step {kills[-1]}' in out, (seed, kills, out)
    assert_same_as_reference(workdir, reference)
    assert not [p for p in (workdir / 'checkpoints').iterdir() if 'tmp' in p.name]  # leftovers cleaned


def test_sigterm_saves_at_the_step_it_stopped_exits_0_and_resumes(reference, tmp_path):
    workdir = tmp_path / 'run'
    proc = start_cli(workdir)
    assert wait_for_checkpoint_after(proc, workdir, 0)
    time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    t0 = time.time()
    rc, out, err = finish(proc, timeout=60)
    assert rc == 0, err
    assert time.time() - t0 < 30
    line = [l for l in out.splitlines() if l.startswith('stopped at step')]
    assert line, out
    stopped = int(line[0].split()[3])
    assert saved_steps(workdir)[-1] == stopped
    assert not (workdir / 'samples.npz').exists()  # a preempted run is not a finished one
    rc, out, err = finish(start_cli(workdir))
    assert rc == 0, err
    assert f'resuming from checkpoint step {stopped}' in out
    assert_same_as_reference(workdir, reference)


class NaNAt:
    """The toy ring with a NaN in one example of source step ``bad`` (fed to generator step bad + 1)."""

    def __init__(self, config, bad: int):
        self.inner, self.bad = ToySource(config.data, config.seed), bad
        for k in ('name', 'example_shape', 'num_classes', 'is_image', 'modes', 'std'):
            setattr(self, k, getattr(self.inner, k))

    def iterate(self, examples_per_step, start_step=0, process_index=0, process_count=1):
        for step, batch in enumerate(self.inner.iterate(examples_per_step, start_step), start_step):
            if step == self.bad:
                batch = {**batch, 'x': batch['x'].copy()}
                batch['x'][3, 0] = np.nan
            yield batch


def nan_config(**kw):
    c = tiny_config(**{'train.num_steps': 30, 'checkpoint.every_steps': 5, 'checkpoint.keep': 5,
                       'penalty.name': 'r1', 'penalty.weight': 1.0, **kw})
    return c


def test_nan_stops_at_that_step_and_newest_checkpoint_is_last_good(tmp_path):
    c = nan_config()
    with pytest.raises(NonFiniteError, match=r'at step 13: d_loss=nan; .*newest checkpoint: step 10'):
        train_and_evaluate(c, tmp_path, source=NaNAt(c, bad=12))
    assert saved_steps(tmp_path) == [5, 10]  # 15 (the next boundary, after the bad step) never written
    assert not (tmp_path / 'samples.npz').exists()
    # the newest checkpoint is the state a clean run has at step 10
    clean = tmp_path / 'clean'
    train_and_evaluate(tiny_config(**{'train.num_steps': 10, 'checkpoint.every_steps': 5,
                                      'penalty.name': 'r1', 'penalty.weight': 1.0}), clean)
    assert_trees_equal(read_state(tmp_path, 10), read_state(clean, 10))


def test_nan_with_skip_goes_on_and_counts_it(tmp_path, capsys):
    c = nan_config(**{'train.on_nonfinite': 'skip'})
    train_and_evaluate(c, tmp_path, source=NaNAt(c, bad=12))
    logs = [json.loads(l) for l in (tmp_path / 'metrics.jsonl').read_text().splitlines()]
    assert [(r['step'], r['nonfinite_total']) for r in logs] == [(10, 0.0), (20, 1.0), (30, 1.0)]
    err = capsys.readouterr().err
    assert 'warning: 1 non-finite update(s) skipped so far (first in this run at step 13' in err
    state = read_state(tmp_path, 30)
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state))
    # the count survives a resume: extend the run by 10 steps
    c.train.num_steps = 40
    train_and_evaluate(c, tmp_path, source=NaNAt(c, bad=12))
    last = json.loads((tmp_path / 'metrics.jsonl').read_text().splitlines()[-1])
    assert (last['step'], last['nonfinite_total']) == (40, 1.0)


def test_nonfinite_watch_records_first_bad_step_and_total():
    watch = failsafe.NonFiniteWatch('stop', total_before=2)
    finite = {'d_loss': np.float32(1.0), 'penalty': np.float32(0.5), 'g_loss': np.float32(0.7)}
    for step, bad, g in [(1, 0, 0.7), (2, 0, 0.7), (3, 2, np.inf), (4, 1, np.nan), (5, 0, 0.7)]:
        watch.update({**finite, 'g_loss': np.float32(g), 'nonfinite': np.float32(bad)}, step)
    assert watch.poll() == (5, 3, {'d_loss': 1.0, 'penalty': 0.5, 'g_loss': np.inf})
    with pytest.raises(NonFiniteError, match=r'at step 3: g_loss=inf; .*newest checkpoint: step 2$'):
        watch.check(2)
    clean = failsafe.NonFiniteWatch('stop')
    clean.update({**finite, 'nonfinite': np.float32(0)}, 1)
    assert clean.check(None) == 0


def test_preemption_turns_sigterm_into_a_flag_and_restores_the_handler():
    before = signal.getsignal(signal.SIGTERM)
    with failsafe.Preemption() as p:
        assert p.requested is None
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert p.requested == 'SIGTERM'
    assert signal.getsignal(signal.SIGTERM) is before


def test_pack_unpack_round_trip_is_exact_and_groups_by_field_and_dtype():
    c = tiny_config()
    src = ToySource(c.data, c.seed)
    _, _, state, _ = games.setup(c, games.DataSpec(src.example_shape))
    # a state in mid-run: every leaf different, and a non-param collection with a scalar and a 3-d array
    leaves, treedef = jax.tree.flatten(state)
    leaves = [np.asarray(jax.random.randint(jax.random.key(i), x.shape, 0, 1000).astype(x.dtype))
              for i, x in enumerate(leaves)]
    state = jax.tree.unflatten(treedef, leaves)
    state = state.replace(
        collections={**state.collections, 'G': {'batch_stats': {
            'mean': np.arange(24, dtype=np.float32).reshape(2, 3, 4), 'n': np.float32(7)}}},
        extra={'pool': np.arange(6, dtype=np.float32), 'count': np.int32(5)})
    packed = jax.device_get(jax.jit(lambda s: ckpt_lib.pack(s, 'G'))(state))
    assert sorted(packed) == ['sampler.float32', 'train.float32', 'train.int32', 'train.uint32']
    np.testing.assert_array_equal(packed['sampler.float32'],  # G's entries in GANState's order
                                  flat(state.params['G'], state.collections['G'], state.ema['G']))
    np.testing.assert_array_equal(packed['train.float32'],  # the rest: D, both optimisers, the extra state
                                  flat(state.params['D'], [x for x in jax.tree.leaves(state.opt_states)
                                                           if x.dtype == np.float32], state.extra['pool']))
    ints = [x for x in jax.tree.leaves((state.step, state.opt_states)) if x.dtype == np.int32]
    np.testing.assert_array_equal(packed['train.int32'], flat(ints, state.extra['count']))  # step, counts
    assert packed['train.uint32'].tolist() == np.asarray(state.rng).tolist()
    assert flat(state.collections['G']).tolist() == [*range(24), 7.0]  # raveled, in tree order
    assert_trees_equal(ckpt_lib.unpack(packed, state, 'G'), state)
    n = packed['train.float32'].size
    with pytest.raises(ValueError, match=fr'train.float32 is \({n - 1},\) float32, the state needs \({n},\)'):
        ckpt_lib.unpack({**packed, 'train.float32': packed['train.float32'][:-1]}, state, 'G')


def run_small(workdir, **kw):
    return train_and_evaluate(tiny_config(**{'train.num_steps': 30, 'checkpoint.every_steps': 10, **kw}),
                              workdir)


def test_truncated_newest_checkpoint_falls_back_with_one_warning_line(tmp_path, capsys):
    first = tmp_path / 'first'
    run_small(first)
    samples = np.load(first / 'samples.npz')['samples']
    assert saved_steps(first) == [10, 20, 30]
    for f in (first / 'checkpoints' / '30').rglob('*'):
        if f.is_file():
            with open(f, 'r+b') as h:
                h.truncate(f.stat().st_size // 2)
    capsys.readouterr()
    run_small(first)
    out, err = capsys.readouterr()
    warnings = [l for l in err.splitlines() if l.strip()]  # all of stderr: one line
    assert len(warnings) == 1 and warnings[0].startswith('warning: checkpoint step 30 ')
    assert 'resumed from step 20' in warnings[0]
    assert 'resuming from checkpoint step 20' in out
    assert (first / 'checkpoints' / 'corrupt' / '30').is_dir()
    np.testing.assert_array_equal(np.load(first / 'samples.npz')['samples'], samples)  # same run again
    # nothing readable left: a clear error, not a silent fresh start over the user's checkpoints
    for f in (first / 'checkpoints').rglob('_METADATA'):
        f.write_text('')
    with pytest.raises(CheckpointError, match='no readable checkpoint'):
        run_small(first)


@pytest.fixture(scope='module')
def small_run(tmp_path_factory):
    """A finished 20-step run with checkpoints at 10 and 20 (read, never changed, by the tests below)."""
    workdir = tmp_path_factory.mktemp('small')
    run_small(workdir, **{'train.num_steps': 20})
    return workdir


def test_other_model_or_optimiser_is_a_clear_error_not_a_partial_load(small_run):
    with pytest.raises(CheckpointError, match=r'another model \(model.width: 16 -> 32\)'):
        run_small(small_run, **{'train.num_steps': 30, 'model.width': 32})
    with pytest.raises(CheckpointError, match=r"differently shaped train state \(at \.opt_states\['D'\]"):
        run_small(small_run, **{'train.num_steps': 30, 'train.optimizer': 'rmsprop'})
    with pytest.raises(CheckpointError, match=r'holds checkpoint step 20, past train.num_steps=10'):
        run_small(small_run, **{'train.num_steps': 10})
    assert saved_steps(small_run) == [10, 20]


def test_load_generator_reproduces_the_runs_samples(small_run):
    generator, params, collections, config = ckpt_lib.load_generator(small_run)
    assert config.model.width == 16 and config.train.num_steps == 20
    g_20, ema_20 = np.split(read_state(small_run, 20)['sampler.float32'], 2)  # the MLP has no collections
    np.testing.assert_array_equal(flat(params), ema_20)
    assert collections == {}
    game = games.get_game(config, games.DataSpec((2,)))
    z, labels = eval_inputs(config, game, 0)
    samples = np.asarray(games.make_sample_fn(game)(params, collections, z, labels))
    np.testing.assert_array_equal(samples, np.load(small_run / 'samples.npz')['samples'])
    _, raw, _, _ = ckpt_lib.load_generator(small_run, step=10, ema=False)
    g_10, ema_10 = np.split(read_state(small_run, 10)['sampler.float32'], 2)
    np.testing.assert_array_equal(flat(raw), g_10)
    assert not np.array_equal(g_10, ema_10)  # really the raw ones
    with pytest.raises(CheckpointError, match='no checkpoint step 7'):
        ckpt_lib.load_generator(small_run, step=7)
    with pytest.raises(CheckpointError, match='no checkpoints in'):
        ckpt_lib.load_generator(small_run / 'nothing')


def test_a_checkpoint_of_the_two_network_format_is_one_clear_error(small_run, tmp_path):
    """Format 2 (before games) held g_params/d_params/...: never a partial load, one error saying what to do."""
    import shutil
    old = tmp_path / 'old'
    shutil.copytree(small_run, old)
    for meta_file in (old / 'checkpoints').glob('*/_CHECKPOINT_METADATA'):
        meta = json.loads(meta_file.read_text())
        meta['custom_metadata']['format'] = 2
        meta_file.write_text(json.dumps(meta))
    before = {p: p.read_bytes() for p in old.rglob('*') if p.is_file()}
    for attempt in (lambda: run_small(old, **{'train.num_steps': 30}), lambda: ckpt_lib.load_generator(old)):
        with pytest.raises(CheckpointError, match=r'checkpoint format 2 .* reads format 3 only: .*new --workdir'):
            attempt()
    assert {p: p.read_bytes() for p in old.rglob('*') if p.is_file()} == before  # nothing moved or changed


@pytest.mark.slow
def test_load_generator_with_batch_norm_statistics(tmp_path):
    """A generator with collections (batch norm): its statistics come back too, and sample as the run did."""
    from tests.data_helpers import MNIST_DIR, require
    require(MNIST_DIR, 'the shared MNIST test set, see ../shared/data/README.md')
    c = tiny_config(**{'model.name': 'dcgan', 'model.width': 8, 'model.latent_dim': 16, 'model.g_batch_norm': True,
                       'data.name': 'mnist', 'data.path': str(MNIST_DIR), 'data.max_examples': 64,
                       'train.num_steps': 3, 'train.batch_size': 8, 'eval.num_samples': 16})
    train_and_evaluate(c, tmp_path)
    generator, params, collections, config = ckpt_lib.load_generator(tmp_path)
    stats = collections['batch_stats']
    assert jax.tree.leaves(stats) and any(np.abs(x).max() > 0 for x in jax.tree.leaves(stats))
    game = games.get_game(config, games.DataSpec((28, 28, 1)))
    z, labels = eval_inputs(config, game, 0)
    samples = np.asarray(games.make_sample_fn(game)(params, collections, z, labels))
    as_saved = np.clip(np.rint((samples + 1) * 127.5), 0, 255).astype(np.uint8)  # images are saved as uint8
    np.testing.assert_array_equal(as_saved, np.load(tmp_path / 'samples.npz')['samples'])


DEVICE_SCRIPT = r'''
import sys
import jax, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from tests.conftest import tiny_config
from ganjax import checkpoint, games
from ganjax.data.toy import ToySource
assert jax.device_count() == 2
c = tiny_config(**{'checkpoint.every_steps': 1})
src = ToySource(c.data, c.seed)
_, _, host, _ = games.setup(c, games.DataSpec(src.example_shape))
mesh = Mesh(np.array(jax.devices()), ('data',))
rep = NamedSharding(mesh, P())
meshed = jax.device_put(host, rep)
a, b = sys.argv[1], sys.argv[2]
with checkpoint.Checkpoints(a, c, src.example_shape, 0) as ck:   # saved from 2 devices
    ck.save(0, meshed)
with checkpoint.Checkpoints(b, c, src.example_shape, 0) as ck:   # saved from 1 device
    ck.save(0, host)
one = checkpoint.Checkpoints(a, c, src.example_shape, 0).restore_latest(host).state
two = checkpoint.Checkpoints(b, c, src.example_shape, 0).restore_latest(meshed).state
for x, y, z in zip(jax.tree.leaves(host), jax.tree.leaves(one), jax.tree.leaves(two)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    np.testing.assert_array_equal(np.asarray(x), np.asarray(z))
    assert y.sharding == x.sharding and len(y.devices()) == 1, y.sharding
    assert z.sharding == rep, z.sharding
print('ok')
'''


def test_restore_onto_a_different_device_count(tmp_path):
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'JAX_PLATFORMS': 'cpu',
           'XLA_FLAGS': os.environ.get('XLA_FLAGS', '') + ' ' + emulated_devices(2)}
    r = subprocess.run([sys.executable, '-c', DEVICE_SCRIPT, str(tmp_path / 'a'), str(tmp_path / 'b')],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0 and r.stdout.strip().endswith('ok'), r.stderr[-3000:]


@pytest.mark.parametrize('game', ['path_length_like', 'cycle_like'])
def test_any_game_resumes_bit_identically_and_loads_its_sampler(tmp_path, game):
    """A game's extra state (the path-length mean) and its other networks (CycleGAN's four) are saved and
    restored exactly: a run stopped at step 6 and resumed ends where an uninterrupted run ends."""
    kw = {'game.name': f'tests.games.{game}', 'model.latent_dim': 2, 'train.num_steps': 12,
          'checkpoint.every_steps': 3, 'eval.num_samples': 32}
    whole, parts = tmp_path / 'whole', tmp_path / 'parts'
    train_and_evaluate(tiny_config(**kw), whole)
    train_and_evaluate(tiny_config(**{**kw, 'train.num_steps': 6}), parts)
    train_and_evaluate(tiny_config(**kw), parts)
    assert_trees_equal(read_state(parts, 12), read_state(whole, 12))
    np.testing.assert_array_equal(np.load(parts / 'samples.npz')['samples'], np.load(whole / 'samples.npz')['samples'])
    config = tiny_config(**kw)
    g = games.get_game(config, games.DataSpec((2,)))
    module, params, collections, _ = ckpt_lib.load_generator(whole)
    assert module == g.networks[g.sampler].module
    z, labels = eval_inputs(config, g, 0)
    samples = np.asarray(games.make_sample_fn(g)(params, collections, z, labels))
    np.testing.assert_array_equal(samples, np.load(whole / 'samples.npz')['samples'])
