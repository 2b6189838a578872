"""What the staff account page is made of besides its endpoints
(`api.console.staff`): `money` (amounts and percents as staff type them, for
every form of the console), `settings_form` (the settings form to and from
`AccountChanges`) and `prices` (the tariffs that price an account, read from
the routing table)."""
