# 50-yahoo.pat - Yahoo! Mail (and other qmail-derived providers such as
# Sina): "Message from yahoo.com. / Unable to deliver message to the
# following address(es)." then "<addr>:" paragraphs (recipient rule in
# 90-generic.pat) and "--- Original message follows.".
signature ^Unable to deliver message to the following address\(es\)
bounce subject ^failure delivery
