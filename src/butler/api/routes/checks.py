"""First-run checks for admins: is the model answering, can people talk, is Home
Assistant connected, each with what to fix. The app shows them on the Household page."""

from __future__ import annotations

from fastapi import APIRouter

from butler.api.admin_schemas import SetupCheck
from butler.api.deps import AdminUser, ServicesDep
from butler.api.schemas import error_responses
from butler.llm.health import model_problem
from butler.stack.health import voice_health

router = APIRouter(prefix="/api/admin", tags=["admin"])

MODEL_CHECK_SECONDS = 15.0
_HOME_FIXES = {
    "unreadable": "Enter the Home Assistant token again on the Home page.",
    "refused": "Make a new long-lived access token in Home Assistant; enter it on the Home page.",
    "retrying": "Check that Home Assistant runs and that its address on the Home page is right.",
}


@router.get("/checks", response_model=list[SetupCheck], responses=error_responses(401, 403))
async def setup_checks(admin: AdminUser, services: ServicesDep) -> list[SetupCheck]:
    """Ask the model for a word, look at the voice server and worker, and report Home
    Assistant's connection: a few seconds at most."""
    return [await _model(services), await _voice(services), _home(services)]


async def _model(services: ServicesDep) -> SetupCheck:
    provider = services.brain.provider
    if provider is None:
        detail = "No language model is configured."
        return SetupCheck(name="model", ok=False, detail=detail, fix=services.llm_status)
    problem = await model_problem(provider, seconds=MODEL_CHECK_SECONDS)
    if problem is None:
        return SetupCheck(name="model", ok=True, detail=f"Answering: {services.llm_status}.")
    return SetupCheck(
        name="model",
        ok=False,
        detail=problem,
        fix=f"Check the model's settings (BUTLER_LLM__*): {services.llm_status}.",
    )


async def _voice(services: ServicesDep) -> SetupCheck:
    lk = services.livekit
    health = await voice_health(lk.settings, lk.data_dir)
    detail = f"Voice server {health.livekit}, voice worker {health.worker}."
    if health.available:
        return SetupCheck(name="voice", ok=True, detail=detail)
    return SetupCheck(name="voice", ok=False, detail=detail, fix=health.fix)


def _home(services: ServicesDep) -> SetupCheck:
    status = services.home.status()
    state = str(status.get("state"))
    if state == "connected":
        return SetupCheck(name="home", ok=True, detail=f"Connected to {status.get('url')}.")
    if state == "not_configured":  # optional: chat and voice work without it
        detail = "Not connected (optional): connect it on the Home page to control the home."
        return SetupCheck(name="home", ok=True, detail=detail)
    detail = f"Home Assistant: {state.replace('_', ' ')}."
    if status.get("error"):
        detail += f" {status['error']}"
    return SetupCheck(name="home", ok=False, detail=detail, fix=_HOME_FIXES.get(state))
