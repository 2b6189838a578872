"""The portal's message templates (docs/templates.md): `portal`, the list,
the form to fill one and its live preview. A sub-package because
api/console/ holds its 20 modules."""
