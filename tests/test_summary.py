"""TensorBoard logs and profiler traces of a run, read back with TensorBoard's own event reader."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from ganjax import summary
from ganjax.errors import ConfigError
from ganjax.train import train_and_evaluate
from tests.conftest import tiny_config

event_accumulator = pytest.importorskip('tensorboard.backend.event_processing.event_accumulator',
                                        reason='the test extra installs tensorboard to read event files')


def read_events(logdir):
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={'images': 0, 'scalars': 0, 'tensors': 0})
    acc.Reload()
    return acc


def test_writer_round_trip(tmp_path):
    w = summary.SummaryWriter(tmp_path)
    w.write_scalars(3, {'loss': 0.25, 'lr': 1e-3})
    w.write_scalars(5, {'loss': -1.5})
    grey = np.arange(2 * 4 * 6, dtype=np.uint8).reshape(2, 4, 6, 1) * 5  # NHWC: tiled into one RGB grid
    w.write_images(5, {'grid': grey})
    w.write_texts(0, {'note': 'hello *world*'})
    w.close()
    w.close()  # closing twice is harmless
    events = read_events(tmp_path)
    assert [(e.step, e.value) for e in events.Scalars('loss')] == [(3, 0.25), (5, -1.5)]
    assert [(e.step, e.value) for e in events.Scalars('lr')] == [(3, pytest.approx(1e-3, rel=1e-7))]
    (img,) = events.Images('grid')
    decoded = np.asarray(Image.open(io.BytesIO(img.encoded_image_string)))
    # two 4x6 images side by side with 2-pixel white gaps, grey copied to three channels
    assert decoded.shape == (2 + 4 + 2, 2 + 2 * (6 + 2), 3)
    np.testing.assert_array_equal(decoded[2:6, 2:8, 0], grey[0, ..., 0])
    np.testing.assert_array_equal(decoded[2:6, 10:16, 2], grey[1, ..., 0])
    assert events.Tensors('note/text_summary')[0].tensor_proto.string_val == [b'hello *world*']


@pytest.mark.slow
def test_run_logs_scalars_pictures_config_and_a_profile(tmp_path):
    c = tiny_config(**{'train.num_steps': 20, 'train.log_every': 10, 'eval.image_every_steps': 10,
                       'profile_steps': 3})
    result = train_and_evaluate(c, tmp_path)
    events = read_events(tmp_path / 'tensorboard')
    logged = [json.loads(line) for line in (tmp_path / 'metrics.jsonl').read_text().splitlines()]
    for key in ('d_loss', 'g_loss', 'steps_per_s'):  # the same numbers as metrics.jsonl (as float32)
        assert [(e.step, e.value) for e in events.Scalars(key)] == [
            (row['step'], pytest.approx(row[key], rel=1e-6)) for row in logged]
    assert [(e.step, e.value) for e in events.Scalars('modes')] == [(20, result['metrics']['modes'])]
    assert [e.step for e in events.Images('samples')] == [10, 20]
    for step, image in zip((10, 20), events.Images('samples')):
        in_tb = np.asarray(Image.open(io.BytesIO(image.encoded_image_string)).convert('RGB'))
        on_disk = np.asarray(Image.open(tmp_path / f'samples_{step}.png').convert('RGB'))
        np.testing.assert_array_equal(in_tb, on_disk)  # the picture a user without TensorBoard sees
    config_text = events.Tensors('config/text_summary')[0].tensor_proto.string_val[0].decode()
    assert '"image_every_steps": 10' in config_text
    traces = list((tmp_path / 'profile').rglob('*.xplane.pb'))
    assert len(traces) == 1 and traces[0].stat().st_size > 0


@pytest.mark.parametrize('key,value,needle', [('eval.image_every_steps', -1, 'eval.image_every_steps'),
                                              ('profile_steps', -2, 'profile_steps')])
def test_bad_logging_keys_fail_before_anything_is_written(tmp_path, key, value, needle):
    with pytest.raises(ConfigError, match=needle):
        train_and_evaluate(tiny_config(**{key: value}), tmp_path / 'run')
    assert not (tmp_path / 'run').exists()
