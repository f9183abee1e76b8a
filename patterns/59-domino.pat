# 59-domino.pat - IBM (Lotus) Domino / Notes: Subject "DELIVERY FAILURE:
# <reason>", body "Your message / Subject: ... / was not delivered to: /
# <address> / because: / <reason>", each value indented by two spaces
# (the address-alone recipient rule is in 90-generic.pat).  Its reason for
# an unknown user names the directory ("not listed in Domino Directory",
# "... in public Name & Address Book"), which the generic "listed in"
# rule of a block list would take for "blocked".
signature ^was not delivered to:[ \t]*\n[ \t]*\n[ \t]+[^\s@]+@[^\s@]+[ \t]*\n[ \t]*\nbecause:
reason userunknown \bnot listed in (?:the )?(?:Domino Directory|public Name & Address Book)
reason filtered \bCannot route mail to user\b
