-- An account's messages to one recipient are read through `messages_destination`
-- (0006: every account's messages to a number, newest first), keeping those of
-- the account. A number receives few messages in the retention period, even
-- from many senders, so that scan is short; and `messages_account_destination`
-- cost every message one more index entry than the search's index alone. Without
-- it, `python -m bench.e2e` measured about 100 bytes less index per message
-- (368-376 against 470-479) and PostgreSQL's CPU per message down by a tenth.

DROP INDEX messages_account_destination;
