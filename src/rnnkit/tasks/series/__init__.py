"""Numeric sequences: classification of whole series, per-frame labelling and forecasting,
each a task of its own over the same readers and normaliser."""

from ..spec import TaskSpec
from . import classify, classify_cli, forecast, forecast_cli, tag, tag_cli
from .classify import LoadedSeriesClassifier, SeriesClassifyDataConfig, SeriesClassifySettings
from .data import pad_series
from .forecast import ForecastSettings, LoadedForecaster
from .forecast_data import Forecast, ForecastData, ForecastDataConfig, read_forecast_series
from .forecaster import Forecaster, ForecasterConfig, gaussian_nll, pinball_loss, quantile_levels
from .frames import FrameTagger, FrameTaggerConfig, FrameTagTask
from .models import SeriesClassifier, SeriesClassifyTask, SeriesModelConfig
from .tag import FrameTagDataConfig, FrameTagSettings, LoadedFrameTagger

CLASSIFY = TaskSpec(
    name="series-classify",
    help="classifier of numeric series (many-to-one): (T, F) -> label",
    description="Train a recurrent classifier on real-valued series: a UCR/UEA .ts file, "
    ".npy/.npz (X, y, lengths) or CSV (long form with --id-col, or --format wide).",
    config=SeriesClassifySettings, build_model=classify.build_model, prepare=classify.prepare,
    report=classify.report, loaded=LoadedSeriesClassifier, describe=classify.describe,
    upgrade=classify.upgrade, unit="seq", cli=classify_cli)

TAG = TaskSpec(
    name="series-tag",
    help="per-frame labeller of numeric series (synchronous many-to-many): one label per step",
    description="Train a (bi)directional recurrent tagger that labels every frame (time step) "
    "of real-valued series: a CSV or Parquet table with one row per frame (a --series-col "
    "groups the rows into series, a --label-col holds each frame's label, the features are "
    "the other numeric columns or --value-cols), or an .npz with X (N, T, F), y (N, T) and "
    "optional lengths. `rnnkit train tag` on such a file comes here.",
    config=FrameTagSettings, build_model=tag.build_model, prepare=tag.prepare,
    report=tag.report, loaded=LoadedFrameTagger, describe=tag.describe, unit="frame",
    cli=tag_cli)

FORECAST = TaskSpec(
    name="forecast", help="forecaster of numeric series: context -> the next H steps",
    description="Train a recurrent forecaster: --strategy direct (the next --horizon steps at "
    "once) or autoregressive (the next step, rolled out); --output point, gaussian (mean and "
    "standard deviation) or quantile (--quantiles); --covariate-cols: columns known in "
    "advance for the steps forecast. The last --holdout steps of each series are scored at "
    "the end against the seasonal naive forecast.",
    config=ForecastSettings, build_model=forecast.build_model, prepare=forecast.prepare,
    report=forecast.report, loaded=LoadedForecaster, finalize=forecast.finalize,
    describe=forecast.describe, unit="win", hidden_options=("model.encoder.bidirectional",),
    cli=forecast_cli)

__all__ = ["CLASSIFY", "FORECAST", "TAG", "Forecast", "ForecastData", "ForecastDataConfig",
           "ForecastSettings", "Forecaster", "ForecasterConfig", "FrameTagDataConfig",
           "FrameTagSettings", "FrameTagTask", "FrameTagger", "FrameTaggerConfig",
           "LoadedForecaster", "LoadedFrameTagger", "LoadedSeriesClassifier",
           "SeriesClassifier", "SeriesClassifyDataConfig", "SeriesClassifySettings",
           "SeriesClassifyTask", "SeriesModelConfig", "gaussian_nll", "pad_series",
           "pinball_loss", "quantile_levels", "read_forecast_series"]
