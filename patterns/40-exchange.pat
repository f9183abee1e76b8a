# 40-exchange.pat - Microsoft Exchange 5.5 / 2000 / 2003 plain-text
# notices: "Your message ... did not reach the
# following recipient(s):" then "addr on DATE" or an X.400 address with
# "SMTP=addr;", then the reason indented.
signature did not reach the following recipient\(s\)
signature ^Delivery to the following recipients? (?:failed|has been delayed)
delayed body ^Delivery to the following recipients? has been delayed
recipient did not reach the following recipient\(s\):\s*\n\s*<?([^\s<>;@]+@[^\s<>;]+?)>?\s+on\s
reason userunknown The recipient name is not recognized
