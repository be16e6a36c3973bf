/** (filled in by the gather family) */
export {}
