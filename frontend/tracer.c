/* placeholder until written */ typedef int cglat_placeholder_tracer;
