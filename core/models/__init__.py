"""All tables of the CRM. Importing this package registers them on core.db.Base.metadata."""
from core.models.activities import ACTIVITY_TYPES, DIRECTIONS, Activity, FollowUp
from core.models.audit import AuditLog
from core.models.collab import IntentScore, Thread
from core.models.customers import CUSTOMER_STATUSES, Contact, Customer, CustomerSearchTerm, CustomerShare
from core.models.materials import MATERIAL_KINDS, Material, MaterialUse
from core.models.messaging import ConversationState, InboxMessage, OutboxMessage
from core.models.nudges import NudgeMute, SchedulerLease
from core.models.orders import MasterOrder, SubOrder
from core.models.people import ROLES, ChatIdentity, Invite, Organisation, Team, User
from core.models.playbooks import CustomerProgress, Node, NodeEvent, NodeVisit, Playbook

__all__ = [
    "ACTIVITY_TYPES", "CUSTOMER_STATUSES", "DIRECTIONS", "MATERIAL_KINDS", "ROLES",
    "Activity", "AuditLog", "ChatIdentity", "Contact", "ConversationState", "Customer",
    "CustomerProgress", "CustomerSearchTerm", "CustomerShare", "FollowUp", "InboxMessage", "IntentScore", "Invite",
    "MasterOrder", "Material", "MaterialUse", "Node", "NodeEvent", "NodeVisit", "NudgeMute", "Organisation", "OutboxMessage",
    "Playbook", "SchedulerLease", "SubOrder", "Team", "Thread", "User",
]
