# 20-exim.pat - Exim: "This message was created automatically by mail
# delivery software." then "A message that you sent could not be
# delivered to one or more of its recipients", each failed address
# indented by two spaces, the SMTP dialogue indented by four.  Exim also
# sets X-Failed-Recipients (read by the parser directly).
signature ^This message was created automatically by mail delivery software
signature A message that you sent could not be delivered to one or more of\s+its\s+recipients
signature A message that you sent has not yet been delivered to one or more of\s+its\s+recipients
delayed body A message that you sent has not yet been delivered to one or more of
delayed subject ^Warning: message \S+ delayed
recipient ^ {2}([^\s<>@]+@[^\s<>]+)\s*$
recipient ^ {2}([^\s<>@]+@[^\s<>]+)\s*\n\s{4}
original ^-{6} This is a copy of the message, including all the headers
original ^-{6} The body of the message is
