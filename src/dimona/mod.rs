//! The Dimona source file (xsd/Dimona.xsd): employment declarations IN, OUT, UPDATE and
//! CANCEL (being built).
