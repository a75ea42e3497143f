"""The simulated seller's listings writes: ``patchListingsItem`` and ``JSON_LISTINGS_FEED`` feeds.

A patch answers a ``ListingsItemSubmissionResponse`` (ACCEPTED, or INVALID with ERROR issues). A feed
goes createFeedDocument → PUT to a presigned URL → createFeed; it is processed (IN_QUEUE →
IN_PROGRESS → DONE, or FATAL) ``feed_processing_s`` after creation, when someone looks at it, and
its processing report (listings feed processing report v2: header, issues, summary) is stored as a
result document.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from fenicia.connectors.amazon.sim_config import AmazonSimConfig
from fenicia.connectors.amazon.sim_models import JSON, SimDocument, SimFeed, SimListing, invalid_input, not_found
from fenicia.connectors.amazon.sim_store import OrderStore

AVAILABILITY_ATTRIBUTE = "fulfillment_availability"
PATCH_OPS = frozenset({"add", "replace", "merge", "delete"})
GENERIC_PRODUCT_TYPE = "PRODUCT"  # [S] accepted for offer-only attributes on any listing
INVALID_ATTRIBUTES = ("90000900", "The attributes are invalid.")  # code and text of the official sandbox example
UNKNOWN_SKU_CODE = "4000001"  # [U]


def issue(code: str, message: str, attribute: str | None = None) -> JSON:
    data: JSON = {"code": code, "message": message, "severity": "ERROR", "categories": []}
    if attribute:
        data["attributeNames"] = [attribute]
    return data


class ListingsDesk:
    """Listings items, feed documents and feeds of the seller (state shared with the order store)."""

    def __init__(self, config: AmazonSimConfig, store: OrderStore, signing_key: bytes) -> None:
        self.config = config
        self.store = store
        self.documents: dict[str, SimDocument] = {}
        self.feeds: dict[str, SimFeed] = {}
        self._key = signing_key
        self._feed_number = 50_000

    @property
    def listings(self) -> dict[str, SimListing]:
        return self.store.listings

    # -- patchListingsItem ------------------------------------------------------------------

    def patch(self, sku: str, body: Any) -> JSON:
        if not isinstance(body, dict) or not isinstance(body.get("productType"), str):
            raise invalid_input("productType is required.", "Request has missing or invalid parameters.")
        patches = body.get("patches")
        if not isinstance(patches, list) or not patches:
            raise invalid_input("patches is required.", "Request has missing or invalid parameters.")
        issues = self.apply(sku, body["productType"], patches)
        status = "INVALID" if issues else "ACCEPTED"
        return {"sku": sku, "status": status, "submissionId": uuid.uuid4().hex, "issues": issues}

    def apply(self, sku: str, product_type: str, patches: list[Any]) -> list[JSON]:
        """Validate then apply a list of JSON Patch operations to one listing; the ERROR issues found."""
        listing = self.listings.get(sku)
        if listing is None:
            return [issue(UNKNOWN_SKU_CODE, f"SKU '{sku}' has no listing in this marketplace.")]
        if product_type not in (listing.product_type, GENERIC_PRODUCT_TYPE):
            return [
                issue("4000003", f"productType {product_type} does not match the listing's {listing.product_type}.")
            ]
        quantity: int | None = None
        for patch in patches:
            found = _quantity_of(patch)
            if isinstance(found, dict):
                return [found]
            quantity = found if found is not None else quantity
        if quantity is not None:
            listing.quantity = quantity
            listing.updated = self.store.clock.now()
        return []

    # -- documents ----------------------------------------------------------------------------

    def create_document(self, body: Any, base_url: str) -> JSON:
        if not isinstance(body, dict) or not isinstance(body.get("contentType"), str):
            raise invalid_input("contentType is required.")
        document = SimDocument(str(uuid.uuid4()), body["contentType"], time.time())
        self.documents[document.document_id] = document
        return {"feedDocumentId": document.document_id, "url": self.presigned_url(document.document_id, base_url)}

    def document_url(self, document_id: str, base_url: str) -> JSON:
        if document_id not in self.documents:
            raise not_found(f"Feed document {document_id} was not found.")
        return {"feedDocumentId": document_id, "url": self.presigned_url(document_id, base_url)}

    def presigned_url(self, document_id: str, base_url: str) -> str:
        expires = int(time.time() + self.config.feed_url_ttl_s)
        return f"{base_url.rstrip('/')}/_s3/feed-documents/{document_id}?X-Amz-Expires={expires}&X-Amz-Signature=" + (
            self._sign(document_id, expires)
        )

    def _sign(self, document_id: str, expires: int) -> str:
        return hmac.new(self._key, f"{document_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def check_url(self, document_id: str, expires: str | None, signature: str | None) -> SimDocument:
        """A presigned URL is good for its document until it expires (S3 answers 403 otherwise)."""
        document = self.documents.get(document_id)
        if document is None or not expires or not expires.isdigit() or not signature:
            raise PermissionError("AccessDenied")
        if int(expires) < time.time() or not hmac.compare_digest(self._sign(document_id, int(expires)), signature):
            raise PermissionError("AccessDenied")
        return document

    # -- feeds --------------------------------------------------------------------------------

    def create_feed(self, body: Any) -> JSON:
        if not isinstance(body, dict):
            raise invalid_input("The request body is required.")
        document_id, feed_type = body.get("inputFeedDocumentId"), body.get("feedType")
        marketplaces = body.get("marketplaceIds")
        if not isinstance(feed_type, str) or not isinstance(marketplaces, list) or not marketplaces:
            raise invalid_input("feedType and marketplaceIds are required.")
        if not isinstance(document_id, str) or document_id not in self.documents:
            raise invalid_input(f"inputFeedDocumentId {document_id!r} does not exist.")
        self._feed_number += 1
        feed = SimFeed(str(self._feed_number), feed_type, [str(m) for m in marketplaces], document_id, time.time())
        self.feeds[feed.feed_id] = feed
        return {"feedId": feed.feed_id}

    def feed(self, feed_id: str) -> SimFeed:
        feed = self.feeds.get(feed_id)
        if feed is None:
            raise not_found(f"Feed {feed_id} was not found.")
        self.advance(feed)
        return feed

    def advance(self, feed: SimFeed) -> None:
        """Moves the feed along its processing as time passes; processes it once when it is due."""
        elapsed = time.time() - feed.created
        if feed.status == "IN_QUEUE" and elapsed >= self.config.feed_processing_s / 2:
            feed.status, feed.started = "IN_PROGRESS", self.store.clock.now()
        if feed.status == "IN_PROGRESS" and elapsed >= self.config.feed_processing_s:
            self._process(feed)

    def _process(self, feed: SimFeed) -> None:
        content = self.documents[feed.input_document_id].content
        try:
            messages = _messages(content, feed.feed_type)
        except ValueError as exc:
            report = self._report(feed, [{"code": "FATAL", "message": str(exc), "severity": "ERROR"}], 0, 0)
            feed.status = "FATAL"
        else:
            issues = [found for message in messages for found in self._apply_message(message)]
            invalid = len({i["messageId"] for i in issues})
            report = self._report(feed, issues, len(messages), invalid)
            feed.status = "DONE"
        result = SimDocument(str(uuid.uuid4()), "application/json", time.time(), json.dumps(report).encode())
        self.documents[result.document_id] = result
        feed.result_document_id, feed.ended = result.document_id, self.store.clock.now()

    def _apply_message(self, message: Any) -> list[JSON]:
        number = message.get("messageId") if isinstance(message, dict) else None
        if not isinstance(number, int):
            return []  # unreadable message: nothing to attribute the issue to
        if message.get("operationType") not in ("PATCH", "PARTIAL_UPDATE", "UPDATE"):
            found = [issue("4000004", f"operationType {message.get('operationType')!r} is not supported here.")]
        elif not isinstance(message.get("sku"), str) or not isinstance(message.get("productType"), str):
            found = [issue("4000005", "sku and productType are required.")]
        else:
            found = self.apply(message["sku"], message["productType"], _patches_of(message))
        return [{**f, "messageId": number} for f in found]

    def _report(self, feed: SimFeed, issues: list[JSON], processed: int, invalid: int) -> JSON:
        summary = {
            "errors": len(issues),
            "warnings": 0,
            "messagesProcessed": processed,
            "messagesAccepted": processed - invalid,
            "messagesInvalid": invalid,
        }
        header = {"sellerId": self.config.seller_id, "version": "2.0", "feedId": feed.feed_id}
        return {"header": header, "issues": issues, "summary": summary}


def _quantity_of(patch: Any) -> int | JSON | None:
    """The quantity a patch sets on the availability attribute; an issue if it is malformed."""
    if not isinstance(patch, dict) or patch.get("op") not in PATCH_OPS or not isinstance(patch.get("path"), str):
        return issue(*INVALID_ATTRIBUTES)
    if patch["path"] != f"/attributes/{AVAILABILITY_ATTRIBUTE}":
        return None  # another attribute (price, title...): accepted, not modelled
    if patch["op"] == "delete":
        return 0
    value = patch.get("value")
    entry = value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else {}
    quantity = entry.get("quantity")
    if not entry.get("fulfillment_channel_code") or not isinstance(quantity, int) or isinstance(quantity, bool):
        return issue(*INVALID_ATTRIBUTES, attribute=AVAILABILITY_ATTRIBUTE)
    if quantity < 0:
        return issue("90000901", "quantity must be zero or more.", attribute=AVAILABILITY_ATTRIBUTE)
    return quantity


def _patches_of(message: dict[str, Any]) -> list[Any]:
    if message.get("operationType") == "PATCH":
        patches = message.get("patches")
        return patches if isinstance(patches, list) else [None]
    attributes = message.get("attributes")
    value = attributes.get(AVAILABILITY_ATTRIBUTE) if isinstance(attributes, dict) else None
    return [] if value is None else [{"op": "replace", "path": f"/attributes/{AVAILABILITY_ATTRIBUTE}", "value": value}]


def _messages(content: bytes | None, feed_type: str) -> list[Any]:
    if feed_type != "JSON_LISTINGS_FEED":
        raise ValueError(f"The sandbox processes JSON_LISTINGS_FEED only, not {feed_type}.")
    if content is None:
        raise ValueError("The feed document was never uploaded.")
    try:
        document = json.loads(content)
    except ValueError:
        raise ValueError("The feed document is not valid JSON.") from None
    header = document.get("header") if isinstance(document, dict) else None
    messages = document.get("messages") if isinstance(document, dict) else None
    if not isinstance(header, dict) or header.get("version") != "2.0" or not isinstance(messages, list):
        raise ValueError("The feed document needs a header (version 2.0) and a messages list.")
    if not 1 <= len(messages) <= 25_000:
        raise ValueError("A feed carries 1 to 25,000 messages.")
    return messages
