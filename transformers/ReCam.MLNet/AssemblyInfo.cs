// The ML.NET components arrive with a later issue; this assembly builds and ships now so the layout is stable.
[assembly: System.CLSCompliant(false)]
