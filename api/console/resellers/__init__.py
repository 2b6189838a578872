"""The portal pages of reseller users (docs/resellers.md): `portal`, the
sub-accounts page. A sub-package because api/console/ holds 20 modules."""
