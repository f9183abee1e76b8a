# 61-facebook.pat - Facebook's MTA (mailer-daemon@mx.facebook.com,
# Subject "Sorry, your message could not be delivered"): "This message
# was created automatically by Facebook." then delivery-status fields as
# plain text (the Final-Recipient rule is in 90-generic.pat), whose
# Diagnostic-Code carries Facebook's own response code (CAT-Pn permanent,
# CAT-Tn temporary, postmaster.facebook.com/response_codes): the reason
# it gives, when the status is vague.
signature ^This message was created automatically by Facebook\.
reason userunknown \b(?:RCP-P1|INT-P1|INT-P3|INT-P4)\b
reason filtered \b(?:RCP-P2|RCP-P3)\b
reason blocked \b(?:POL-P1|POL-P2)\b
reason mesgtoobig \b(?:MSG-P1|INT-P2)\b
reason contenterror \b(?:MSG-P2|MSG-P3|POL-P6|POL-P7)\b
reason notaccept \b(?:POL-P3|POL-P4|POL-T1|POL-T2|POL-T3)\b
reason rejected \b(?:DNS-P1|DNS-P2|DNS-P3|DNS-T1|DNS-T2)\b
reason systemerror \b(?:CON-T1|RCP-T1)\b
reason toomanyconn \b(?:CON-T2|CON-T3)\b
reason virusdetected \bPOL-P5\b
reason suspend \bRCP-T4\b
