# 80-reasons.pat - the reason a diagnostic text gives, for non-standard
# bounces and for DSNs whose status does not speak for itself (x.0.0,
# x.y.0, x.7.x: see diag_reason in lib/bounce.c).  The first rule
# that matches wins, so the specific phrases come first.
reason mailboxfull    \b(?:mailbox (?:is )?full|mailbox exceeds (?:the )?allowed size|over ?quota|quota exceeded|exceeded (?:storage|the quota)|mailbox (?:size )?limit|disk quota|insufficient (?:disk )?space|user is over|full mailbox|mailfolder is full|too many messages in (?:the )?mailbox)
reason mesgtoobig     \b(?:message (?:is )?too (?:big|large)|message size exceeds|exceeds? (?:the )?(?:maximum|max) (?:message )?size|size limit|message too long)
reason userunknown    \b(?:user unknown|invalid (?:final delivery )?userid|unknown user|no such (?:user|mailbox|recipient|person)|(?:user|recipient|mailbox|address|account) (?:does not exist|doesn't exist|not found|unknown|is unknown|not exist)|invalid (?:recipient|mailbox|address|user)|unknown (?:recipient|local part|address|mailbox)|mailbox unavailable|not a valid mailbox|unrouteable address|no mailbox here|addressee unknown|recipient rejected|bad destination mailbox|account (?:has been )?(?:disabled|closed|removed))
reason hostunknown    \b(?:host unknown|(?<![@\w.-])[a-z0-9-]+(?:\.[a-z0-9-]+)+ does not exist$|unknown host|domain (?:not found|does not exist|unknown)|no such domain|name or service not known|host not found|unrouteable mail domain|unknown domain|mx lookup fail|all relevant mx records point to non-existent hosts)
reason suspend        \b(?:account (?:is )?(?:suspended|disabled|inactive|locked|frozen)|mailbox (?:is )?(?:disabled|inactive|suspended)|temporarily (?:locked|disabled))
reason notaccept      \b(?:(?:an )?MX or SRV record indicated no SMTP service|no MX record found|null MX)
reason virusdetected  \b(?:virus|malware|infected)
# "spam" but not a block list's name (spamhaus, spamcop, spamrats,
# spam.dnsbl.sorbs.net ...): a listing of the sending host is "blocked".
reason spamdetected   \b(?:(?<![.@/-])spam(?!haus|cop|rats|cannibal|[\w-]*\.[a-z])|junk mail|bulk mail)
reason blocked        \b(?:blocked|invalid rdns|after (?:initial connection|HELO|EHLO):\s+5\d\d|blacklist|block ?list|dnsbl|rbl|listed (?:at|in|on)|client host rejected|reverse dns|ptr record|banned sending ip)
reason norelaying     \b(?:relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited)|not permitted to relay|unable to relay|we do not relay)
reason securityerror  \b(?:authentication required|spf|dkim|dmarc)\b
reason expired        \b(?:retry timeout exceeded|all hosts have been failing for a long time|not delivered within \d|too long in the queue|queue too long|could not be delivered for|expired|giving up|delivery time expired|message timed out)
reason networkerror   \b(?:connection (?:refused|timed out|reset)|network is unreachable|no route to host|timed out|mail loop|loops back|too many hops)
reason toomanyconn    \b(?:too many (?:connections|sessions|messages|recipients)|rate limit|try again later)
reason policyviolation \b(?:policy|not allowed|prohibited)
reason filtered       \b(?:filtered|rejected by (?:the )?(?:recipient|filter))
reason systemerror    \b(?:system error|internal error|local configuration error|mailer error|server error)
reason rejected       \b(?:rejected|refused|denied)
