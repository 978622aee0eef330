#!/usr/bin/env node
import '../dist/lib/cli/send.js'
