"""The request bodies, as pydantic models: types and fixed bounds here (422 on a violation);
the server's own limits (:class:`~rnnkit.serve.limits.Limits`) are checked by each route, so
that the error names the limit. Unknown fields are refused (a typo is not ignored).

The sampling fields are :class:`~rnnkit.tasks.common.sampling.SampleConfig`'s, with its
defaults: :meth:`Sampling.sampling` builds one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..tasks.common.sampling import SampleConfig

_DEFAULT = SampleConfig()

# One numeric series: (T, F) rows of features, or (T,) values of a univariate series.
Series = list[list[float]] | list[float]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sampling(Strict):
    """SampleConfig's options (see rnnkit sample --help)."""

    temperature: float = Field(_DEFAULT.temperature, gt=0, description="softmax temperature")
    top_k: int | None = Field(_DEFAULT.top_k, ge=1, description="sample from the k likeliest")
    top_p: float | None = Field(_DEFAULT.top_p, gt=0, le=1, description="nucleus mass")
    greedy: bool = Field(_DEFAULT.greedy, description="always take the likeliest token")
    seed: int | None = Field(_DEFAULT.seed, ge=-(2**63), le=2**64 - 1,  # torch's seed range
                             description="the same seed gives the same output")

    def sampling(self) -> SampleConfig:
        s = SampleConfig(temperature=self.temperature, top_k=self.top_k, top_p=self.top_p,
                         greedy=self.greedy, seed=self.seed)
        s.validate()
        return s


class SampleRequest(Sampling):
    """``POST /v1/sample``: language models (``prompt``) and generators (``condition``)."""

    prompt: str = Field("", description="language model: the text read before generating")
    length: int | None = Field(None, ge=1, description="tokens to generate (language model: "
                               "default 200; generator: at most, default from training)")
    stream: bool = Field(False, description="answer text/event-stream, one event per token")
    condition: str | list[str] | None = Field(
        None, description="generator: a label seen in training, or digits (3,1,4) / test:N; "
        "several as a list (default: every label, or test composites 0-4)")
    num: int = Field(1, ge=1, description="generator: samples per condition")
    beam: int = Field(0, ge=0, description="generator: beam search of this width (0: sample)")


class ClassifyRequest(Strict):
    """``POST /v1/predict`` for a text classifier."""

    texts: list[str] = Field(..., min_length=1, description="the texts to label")
    top_k: int | None = Field(None, ge=1, description="classes listed per text (default 5)")


class TagRequest(Strict):
    """``POST /v1/predict`` for a tagger: ``sentences`` (word lists) or ``texts`` (split at
    whitespace)."""

    sentences: list[list[str]] | None = Field(None, description="sentences as lists of words")
    texts: list[str] | None = Field(None, description="sentences, split at whitespace")
    features: list[list[list[str]]] | None = Field(
        None, description="a run with feature columns (GET /v1/info: feature_columns): per "
        "sentence, per word, the value of each column")


class SeriesRequest(Strict):
    """``POST /v1/predict`` for a series classifier or frame tagger."""

    series: list[Series] = Field(..., min_length=1, description="series, each (T, F) or (T,)")
    top_k: int | None = Field(None, ge=1, description="series-classify: classes listed")


class TranslateRequest(Sampling):
    """``POST /v1/translate``: beam search, greedy (beam 1), or ``sample`` (beam 1)."""

    texts: list[str] = Field(..., min_length=1, description="source sentences")
    beam: int = Field(5, ge=1, le=64, description="beam width (1: greedy)")
    n_best: int = Field(1, ge=1, le=64, description="hypotheses per text (<= beam)")
    length_penalty: float = Field(1.0, ge=0, description="beam score length normalisation")
    max_len: int | None = Field(None, ge=1, description="most target tokens")
    sample: bool = Field(False, description="sample with the sampling options (beam 1)")


class ForecastRequest(Strict):
    """``POST /v1/forecast``: the forecast after the end of each history."""

    history: list[Series] = Field(..., min_length=1,
                                  description="series, each (T, K+X) or (T,) in data units")
    steps: int | None = Field(None, ge=1, description="steps to forecast (default: horizon)")
    future: list[Series] | None = Field(
        None, description="with covariates: their values for each forecast step, (steps, X)")
