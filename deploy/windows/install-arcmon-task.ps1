# arcmon run on Windows Server, as a scheduled task that starts at boot, runs as SYSTEM and restarts on failure.
# Prerequisites: Node.js 20+ (winget install OpenJS.NodeJS.LTS), then, in an elevated PowerShell:
#   npm install -g --omit=dev .\arc-connectivity-monitor-<version>.tgz
#   .\install-arcmon-task.ps1 -Site branch-lyon -Region westeurope
# Data (embedded store and spool) goes to %ProgramData%\arcmon\sites\<site>. Logs: %ProgramData%\arcmon\arcmon.log.
param(
  [Parameter(Mandatory = $true)][string]$Site,
  [Parameter(Mandatory = $true)][string]$Region,
  [string]$Cloud = 'AzureCloud',
  [string]$TaskName = 'arcmon'
)
$ErrorActionPreference = 'Stop'

$arcmon = (Get-Command arcmon.cmd -ErrorAction Stop).Source
$dataDir = Join-Path $env:ProgramData 'arcmon'
New-Item -ItemType Directory -Force -Path $dataDir | Out-Null
# Only SYSTEM and Administrators may read the store and the spool.
icacls $dataDir /inheritance:r /grant:r 'SYSTEM:(OI)(CI)F' 'Administrators:(OI)(CI)F' | Out-Null

$log = Join-Path $dataDir 'arcmon.log'
$command = "`"$arcmon`" run --site $Site --region $Region --cloud $Cloud --data-dir `"$dataDir`" >> `"$log`" 2>&1"
$action = New-ScheduledTaskAction -Execute 'cmd.exe' -Argument "/d /c $command"
$trigger = New-ScheduledTaskTrigger -AtStartup
$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
# No time limit; restart every minute, up to 999 times, if it stops with an error.
$settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -RestartInterval (New-TimeSpan -Minutes 1) `
  -RestartCount 999 -StartWhenAvailable -DontStopOnIdleEnd -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Principal $principal -Settings $settings -Force | Out-Null
Start-ScheduledTask -TaskName $TaskName
Write-Host "arcmon runs as the scheduled task '$TaskName'; status: arcmon status --data-dir `"$dataDir`""
