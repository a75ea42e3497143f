"""Products and the warehouses (locations) that hold them."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fenicia.db.base import Base, IdMixin, TimestampMixin, WorkspaceMixin
from fenicia.db.types import BigId, DecimalText


class Product(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("workspace_id", "sku"),)

    sku: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500))
    price: Mapped[Decimal | None] = mapped_column(DecimalText(), default=None)
    barcode: Mapped[str | None] = mapped_column(String(100), default=None)


class Location(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("workspace_id", "code"),)

    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))


class BundleComponent(IdMixin, WorkspaceMixin, Base):
    """A bundle (kit) product is made of components; it sells as many as its scarcest component allows,
    counted within one location."""

    __tablename__ = "bundle_components"
    __table_args__ = (UniqueConstraint("bundle_id", "component_id"),)

    bundle_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"), index=True)
    component_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
