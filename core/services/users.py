"""Organisations, teams, users, chat identities and invites."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import AccessDenied, Duplicate, Invalid, NotFound
from core.models import ROLES, ChatIdentity, Invite, Organisation, Team, User
from core.services.access import acting

LOCALES = ("zh", "en")
INVITE_TTL = timedelta(days=7)


def create_organisation(s: Session, name: str) -> Organisation:
    org = Organisation(name=name)
    s.add(org)
    s.flush()
    return org


def get_or_create_team(s: Session, org: Organisation | int, name: str) -> Team:
    org_id = org if isinstance(org, int) else org.id
    team = s.scalar(select(Team).where(Team.org_id == org_id, Team.name == name))
    if team is None:
        team = Team(org_id=org_id, name=name)
        s.add(team)
        s.flush()
    return team


def _check_profile(role: str, timezone: str, locale: str) -> None:
    if role not in ROLES:
        raise Invalid(f"unknown role {role}", field="role", value=role, allowed=ROLES)
    if locale not in LOCALES:
        raise Invalid(f"unknown locale {locale}", field="locale", value=locale, allowed=LOCALES)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {timezone}", field="timezone", value=timezone) from None


def add_user(s: Session, org: Organisation | int, login: str, name: str | None = None, *,
             role: str = "rep", team: str | None = None, timezone: str = "Asia/Shanghai",
             locale: str = "zh") -> User:
    org_id = org if isinstance(org, int) else org.id
    login = login.strip()
    if not login:
        raise Invalid("login is empty", field="login")
    _check_profile(role, timezone, locale)
    if s.scalar(select(User.id).where(User.login == login)) is not None:
        raise Duplicate(f"user {login} exists", entity="user", ref=login)
    team_id = get_or_create_team(s, org_id, team).id if team else None
    user = User(org_id=org_id, login=login, name=name or login, role=role, team_id=team_id,
                timezone=timezone, locale=locale)
    s.add(user)
    s.flush()
    return user


def get_user(s: Session, login: str) -> User:
    user = s.scalar(select(User).where(User.login == login))
    if user is None or not user.active:
        raise NotFound(f"user {login} not found", entity="user", ref=login)
    return user


def list_users(s: Session, org_id: int | None = None) -> list[User]:
    q = select(User).where(User.active.is_(True)).order_by(User.id)
    if org_id is not None:
        q = q.where(User.org_id == org_id)
    return list(s.scalars(q))


def team_members(s: Session, team_id: int) -> list[User]:
    return list(s.scalars(select(User).where(User.team_id == team_id, User.active.is_(True)).order_by(User.id)))


def update_profile(s: Session, actor: User, *, locale: str | None = None,
                   timezone: str | None = None) -> User:
    acting(s, actor)
    _check_profile(actor.role, timezone or actor.timezone, locale or actor.locale)
    if locale:
        actor.locale = locale
    if timezone:
        actor.timezone = timezone
    s.flush()
    return actor


def create_invite(s: Session, actor: User | None, org_id: int, *, role: str = "rep",
                  team: str | None = None, user: User | None = None,
                  ttl: timedelta = INVITE_TTL) -> Invite:
    """A one-time code. With `user`, redeeming binds that existing user's chat account."""
    if actor is not None:
        if actor.role not in ("admin", "manager"):
            raise AccessDenied("only managers and admins invite", entity="invite")
        if actor.role == "manager" and role == "admin":
            raise AccessDenied("a manager cannot invite an admin", entity="invite")
        acting(s, actor)
    if role not in ROLES:
        raise Invalid(f"unknown role {role}", field="role", value=role, allowed=ROLES)
    team_id = get_or_create_team(s, org_id, team).id if team else (user.team_id if user else None)
    invite = Invite(org_id=org_id, code=secrets.token_urlsafe(9), role=user.role if user else role,
                    team_id=team_id, user_id=user.id if user else None,
                    created_by=actor.id if actor else None, expires_at=utcnow() + ttl)
    s.add(invite)
    s.flush()
    return invite


def identity_user(s: Session, platform: str, external_id: str) -> User | None:
    return s.scalar(
        select(User).join(ChatIdentity, ChatIdentity.user_id == User.id)
        .where(ChatIdentity.platform == platform, ChatIdentity.external_id == str(external_id),
               User.active.is_(True)))


def bind_identity(s: Session, user: User, platform: str, external_id: str,
                  chat_id: str | None = None) -> ChatIdentity:
    existing = s.scalar(select(ChatIdentity).where(
        ChatIdentity.platform == platform, ChatIdentity.external_id == str(external_id)))
    if existing is not None:
        if existing.user_id != user.id:
            raise Duplicate("this chat account is bound to someone else", entity="identity")
        return existing
    ident = ChatIdentity(user_id=user.id, platform=platform, external_id=str(external_id),
                         chat_id=str(chat_id or external_id))
    s.add(ident)
    s.flush()
    return ident


def redeem_invite(s: Session, code: str, platform: str, external_id: str, *,
                  display_name: str | None = None, chat_id: str | None = None,
                  now: datetime | None = None) -> User:
    now = now or utcnow()
    invite = s.scalar(select(Invite).where(Invite.code == code.strip()).with_for_update())
    if invite is None:
        raise NotFound("invite code unknown", entity="invite", ref=code)
    already = identity_user(s, platform, external_id)
    if invite.used_at is not None:
        if already is not None and invite.used_by == already.id:
            return already  # the same /start delivered twice
        raise Invalid("invite already used", field="invite", reason="used")
    if invite.expires_at < now:
        raise Invalid("invite expired", field="invite", reason="expired")
    if already is not None:
        raise Duplicate("this chat account is already bound", entity="identity", ref=already.login)
    if invite.user_id is not None:
        user = s.get(User, invite.user_id)
    else:
        login = f"{platform}_{external_id}"
        user = User(org_id=invite.org_id, login=login, name=display_name or login,
                    role=invite.role, team_id=invite.team_id)
        s.add(user)
        s.flush()
    set_actor_id = user.id
    s.info["actor_id"] = set_actor_id
    bind_identity(s, user, platform, external_id, chat_id)
    invite.used_at = now
    invite.used_by = user.id
    s.flush()
    return user
