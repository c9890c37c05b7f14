"""The `reviews` section: where reviewers are sent and how the queue behaves."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wardgate.policy.model import Duration


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(repr=False)  # a Slack hook URL is a secret: use ${env:…} or ${file:…}
    format: Literal["slack", "generic"] = "generic"
    headers: dict[str, str] = Field(default_factory=dict, repr=False)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("a webhook url must be http(s)")
        return value


class ReviewsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    public_url: str | None = (
        None  # how reviewers reach the admin listener; default http://admin.listen
    )
    notify: tuple[WebhookConfig, ...] = ()
    max_grant: Duration = 8 * 3600.0  # the longest time-boxed grant a reviewer may give
    poll_interval: Duration = 1.0
