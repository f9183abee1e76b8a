# 56-aol.pat - AOL and similar webmail notices: "Your mail to the
# following recipients could not be delivered because ..." (AOL lists bare
# screen names, which carry no domain and are not taken as addresses).
signature ^Your mail to the following recipients could not be delivered
