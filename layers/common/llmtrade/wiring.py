"""Services wired from adapters: offline (the simulator) around a given store, live (the real
providers), and what a Lambda builds from its validated environment. Only the entry points import
this module."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmtrade.config import Settings, load_settings
from llmtrade.domain.calendar import ET
from llmtrade.environment import FunctionEnvironment, ssm_kill_switch
from llmtrade.ports import Broker, EventStore, OrderLedger, ResearchProvider, Secrets
from llmtrade.services import NotWired, Services
from llmtrade.workflow import FUNCTION_SPECS, Function, Need

if TYPE_CHECKING:
    from llmtrade.adapters.broker.sim_broker import FillModel

# What a live run builds: the council's models, the research providers, Alpaca (trading and market
# data); a function builds only its own needs (llmtrade.workflow.FUNCTION_SPECS).
EVERYTHING: frozenset[Need] = frozenset({"llm", "research", "broker"})


def offline_services(settings: Settings, store: EventStore, ledger: OrderLedger,
                     fills: FillModel | None = None,
                     needs: Collection[Need] = EVERYTHING) -> Services:
    """Offline adapters around a given event store; `ledger` keeps the simulated broker's orders;
    `fills` says when its orders fill (default: at once, `IMMEDIATE`). As live, only what `needs`
    asks for is built (the council's Lambda loads no simulator); opening a week checks the
    simulated broker's ledger whatever the needs (`replay_conflict`)."""
    from llmtrade.adapters.llm.offline import OfflineLLM

    market: Any = NotWired("the simulated market", needs)
    research: list[ResearchProvider] = []
    if {"broker", "research"} & set(needs):
        from llmtrade.adapters.broker.sim_market import SimMarket

        market = SimMarket(settings.assets)
    if "research" in needs:
        from llmtrade.adapters.research.offline import OfflineResearch

        research = [OfflineResearch(market)]

    def broker_at(moment: datetime) -> Broker:
        if "broker" not in needs:
            return NotWired("the simulated broker", needs)
        from llmtrade.adapters.broker.sim_broker import IMMEDIATE, SimBroker

        return SimBroker(market, ledger, starting_equity=settings.risk.starting_equity_usd,
                         min_equity_for_short=settings.risk.min_equity_for_short_usd,
                         clock=lambda: moment,
                         hard_to_borrow=frozenset(settings.assets.hard_to_borrow),
                         fills=fills or IMMEDIATE)

    def replay_conflict(moment: datetime) -> str | None:
        from llmtrade.adapters.broker.sim_broker import SimBroker

        broker = SimBroker(market, ledger, starting_equity=0, min_equity_for_short=0,
                           clock=lambda: moment)
        latest = max((t for a in settings.trading_accounts if (t := broker.latest_order_at(a.id))),
                     default=None)
        if latest is None or latest <= moment:
            return None
        return ("the simulated broker already holds orders up to "
                f"{latest.astimezone(ET):%Y-%m-%d %H:%M} ET, "
                f"after {moment.astimezone(ET):%Y-%m-%d %H:%M} ET; a simulation cannot go back in "
                "time: replay earlier weeks in a new data dir (--data-dir)")

    return Services(settings=settings, store=store, llm=OfflineLLM(), research=research,
                    market=market, broker_at=broker_at, offline=True,
                    replay_conflict=replay_conflict, sleep=lambda seconds: None)


def local_services(data_dir: Path, settings: Settings | None = None) -> Services:
    from llmtrade.adapters.broker.ledger_sqlite import SqliteOrderLedger
    from llmtrade.adapters.store.sqlite import SqliteEventStore

    return offline_services(settings or load_settings(),
                            SqliteEventStore(data_dir / "events.sqlite"),
                            SqliteOrderLedger(data_dir / "sim_broker.sqlite"))


def live_services(settings: Settings, secrets: Secrets, store: EventStore,
                  needs: Collection[Need] = EVERYTHING) -> Services:
    """The real providers: OpenRouter for the council, the configured research providers, Alpaca
    paper accounts (keys per account) for orders and market data; only those in `needs` (a Lambda
    function builds its own share). Refuses, naming them and where they were looked for, when keys
    are missing."""
    # each adapter imported only when this function needs it (a cold start's cost)
    from llmtrade.adapters.http_retry import remember_secrets
    from llmtrade.adapters.store.secrets import (
        OPENROUTER_KEY,
        MissingKeys,
        missing,
        required_keys,
    )

    if absent := missing(secrets, required_keys(settings, needs)):
        raise MissingKeys(absent, getattr(secrets, "source", "the keys given"))
    # every key this run holds is scrubbed from every adapter error, whichever provider echoes it
    remember_secrets(*(secrets.get(name) for name in required_keys(settings)))

    def key(name: str) -> str:
        return secrets.get(name) or ""

    llm: Any = NotWired("the models (OpenRouter)", needs)
    research: list[ResearchProvider] = []
    if {"llm", "research"} & set(needs):
        from llmtrade.adapters.llm.openrouter import OpenRouterLLM

        # 200 s per call, retries included: a council step makes at most four calls (chairman, its
        # repair, the backup and its repair), which must fit the council Lambda's 890 s
        llm = OpenRouterLLM(api_key=key(OPENROUTER_KEY), app_name="llmtrade",
                            base_url=settings.models.endpoints.openrouter, max_total_seconds=200)
    if "research" in needs:
        from llmtrade.adapters.research.registry import Parts, research_providers

        research = research_providers(Parts(settings, secrets, llm))
    market: Any = NotWired("market data (Alpaca)", needs)
    broker: Any = NotWired("the broker (Alpaca)", needs)
    if "broker" in needs:
        from llmtrade.adapters.broker.alpaca import AlpacaBroker, AlpacaMarketData

        broker_config = settings.accounts.broker
        credentials = {a.id: (key(f"{a.key_env}_KEY_ID"), key(f"{a.key_env}_SECRET_KEY"))
                       for a in settings.trading_accounts}
        broker = AlpacaBroker(broker_config.base_url, credentials,
                              key_envs={a.id: a.key_env or "" for a in settings.trading_accounts})
        market = AlpacaMarketData(broker_config.data_url, broker, settings.assets.symbols,
                                  account_id=settings.council_account.id)
    return Services(settings=settings, store=store, llm=llm, research=research, market=market,
                    broker_at=lambda moment: broker, offline=False)


def services_from_environment(function: Function,
                              environment: FunctionEnvironment | None = None) -> Services:
    """What a Lambda uses: DynamoDB events, its own Secrets Manager secret, the SSM kill switch,
    Powertools metrics (set by the handler); LLMTRADE_MODE offline|live. `environment` defaults to
    os.environ's."""
    import dataclasses

    from llmtrade.adapters.broker.ledger_dynamodb import DynamoDBOrderLedger
    from llmtrade.adapters.store.dynamodb import DynamoDBEventStore, plain_client
    from llmtrade.adapters.store.secrets import SecretsManagerSecrets

    environment = environment or FunctionEnvironment.load(function)
    settings = load_settings()
    table, dynamodb = environment.table_name, plain_client()  # one client, one connection pool
    store = DynamoDBEventStore(table, dynamodb)
    if environment.mode == "offline":
        services = offline_services(settings, store, DynamoDBOrderLedger(table, dynamodb),
                                    needs=FUNCTION_SPECS[function].needs)
    else:
        services = live_services(settings, SecretsManagerSecrets(environment.secret_arn), store,
                                 FUNCTION_SPECS[function].needs)
    return dataclasses.replace(services,
                               kill_switch=ssm_kill_switch(environment.kill_switch_parameter))
