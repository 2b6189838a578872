"""The console's sender-ID pages (docs/senders.md): `staff`, the approval
queue; `portal`, a customer's sender IDs and its request form. A sub-package
because api/console/ is near its 20 modules."""
