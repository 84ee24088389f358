"""civid as MOSIP's ABIS: the ABIS API's messages, CBEFF and ISO image records, the reference store, and routes."""
