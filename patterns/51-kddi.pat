# 51-kddi.pat - KDDI / au one net (Japan): Japanese text, then
# "Could not be delivered to: <addr>" and an English reason line.
signature ^[ \t]*Could not be delivered to:\s*<
recipient ^[ \t]*Could not be delivered to:\s*<([^\s<>@]+@[^\s<>]+)>
reason mailboxfull As their mailbox is full
