"""Users, roles and training (Part 11 §11.100: user names are never reused or reassigned)."""
from engine.users.accounts import (
    actor_for, change_password, create_user, disable_user, enable_user, find_user, get_user, get_user_by_name,
    has_role, list_users, reset_password, set_roles, user_for_actor,
)
from engine.users.models import LOCALES, ROLES, TrainingRecord, User, UserRole

__all__ = [
    "LOCALES", "ROLES", "TrainingRecord", "User", "UserRole", "actor_for", "change_password", "create_user",
    "disable_user", "enable_user", "find_user", "get_user", "get_user_by_name", "has_role", "list_users",
    "reset_password", "set_roles", "user_for_actor",
]
