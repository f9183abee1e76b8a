# 58-biglobe.pat - BIGLOBE and the Japanese cable ISPs on its mail system
# (postmaster@biglobe.ne.jp, Subject "Returned mail: ..."): sendmail-like
# boxed headings "----- The following addresses had delivery problems
# -----" (the address alone on the next line, recipient rule in
# 90-generic.pat) and "----- Non-delivered information -----" (the
# reason, in English), then the message as message/rfc822.
signature ^[ \t]*-{5} The following addresses had delivery problems -{5}
reason mailboxfull The number of messages in recipient's mailbox exceeded
