// The smallest static program that exits at once (the fork+exec workloads run it).
int main(void) { return 0; }
